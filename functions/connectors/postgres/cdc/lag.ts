// How far a CDC source's replication slot is behind: the WAL the source keeps for Sluice, for the slot-lag metric and alarm.
import type pg from 'pg';
import { SlotLostError } from './slot.js';

/** A replication slot's distance behind the source's WAL, as pg_replication_slots reports it. */
export interface SlotLag {
  /**
   * WAL bytes written since the slot's confirmed position: how far the loads are behind the source. The
   * source keeps at least this much WAL for the slot (from its restart_lsn, which is never later).
   */
  lagBytes: number;
  /** `reserved`, `extended`, `unreserved` or `lost` (the WAL the slot needed is gone); null for a slot not yet used. */
  walStatus: string | null;
  /** Bytes the source may still write before the slot loses WAL (`max_slot_wal_keep_size`); null when unlimited. */
  safeWalSizeBytes: number | null;
}

/**
 * Measures a logical slot's lag: `pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)` (on a
 * standby, against the last replayed LSN), with its `wal_status` and `safe_wal_size`. Read-only.
 *
 * @example const { lagBytes } = await measureSlotLag(client, 'sluice_customers_cdc');
 * @throws SlotLostError when no slot has that name; an Error when it is a physical slot.
 */
export async function measureSlotLag(client: pg.Client, slot: string): Promise<SlotLag> {
  const { rows } = await client.query<{
    slot_type: string;
    lag_bytes: string | null;
    wal_status: string | null;
    safe_wal_size: string | null;
  }>(
    `SELECT slot_type,
            pg_wal_lsn_diff(
              CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
              confirmed_flush_lsn)::bigint::text AS lag_bytes,
            wal_status,
            safe_wal_size::text AS safe_wal_size
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (!row) throw new SlotLostError(slot, 'does not exist (dropped?)', undefined);
  if (row.slot_type !== 'logical')
    throw new Error(
      `replication slot "${slot}" is a ${row.slot_type} slot, not the logical slot of a CDC source: check source.config.cdc.slot`,
    );
  return {
    // A slot still being created has no confirmed position yet: no change has been left unread.
    lagBytes: row.lag_bytes === null ? 0 : Math.max(0, Number(row.lag_bytes)),
    walStatus: row.wal_status,
    safeWalSizeBytes: row.safe_wal_size === null ? null : Number(row.safe_wal_size),
  };
}
