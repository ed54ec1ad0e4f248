// The replication slot and publication of a CDC source, read through SQL (peek, then advance once the load committed): creating them, reading changes between two LSNs, acknowledging.
import type pg from 'pg';
import { compareLsn, PgoutputDecoder, type PgoutputMessage } from './pgoutput.js';

/** The slot the stored LSN needs is gone or has lost WAL: changes would be missing, so nothing is read. */
export class SlotLostError extends Error {
  constructor(slot: string, why: string, lsn: string | undefined) {
    super(
      `replication slot "${slot}" ${why}${lsn ? `; the changes after ${lsn}, the last one loaded, can no longer be read` : ''}: reload the table with --full-refresh (it recreates the slot) or restore the slot; Sluice never resets it silently`,
    );
    this.name = 'SlotLostError';
  }
}

/**
 * Creates the publication (for the one table) and the slot (pgoutput) when missing, in that order so
 * the slot's first change is one the publication sends. Returns the slot's consistent point when it
 * was created now (`created`), else its confirmed position.
 */
export async function ensureSlot(
  client: pg.Client,
  options: { slot: string; publication: string; table: string },
): Promise<{ created: boolean; lsn: string }> {
  const pub = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [options.publication]);
  if (pub.rowCount === 0)
    await client.query(
      `CREATE PUBLICATION ${ident(options.publication)} FOR TABLE ${qualified(options.table)}`,
    );
  const existing = await slotState(client, options.slot);
  if (existing) return { created: false, lsn: existing.confirmed };
  const made = await client.query<{ lsn: string }>(
    `SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')`,
    [options.slot],
  );
  return { created: true, lsn: made.rows[0]!.lsn };
}

interface SlotState {
  confirmed: string;
  walStatus: string | null;
}

async function slotState(client: pg.Client, slot: string): Promise<SlotState | undefined> {
  const { rows } = await client.query<{
    confirmed: string;
    wal_status: string | null;
    plugin: string;
    database: string;
    here: boolean | string;
  }>(
    `SELECT confirmed_flush_lsn::text AS confirmed, wal_status, plugin, database, database = current_database() AS here
       FROM pg_replication_slots WHERE slot_name = $1 AND slot_type = 'logical'`,
    [slot],
  );
  const row = rows[0];
  if (!row) return undefined;
  // Slot names are the server's, not a database's: another database's slot is never taken over.
  if (row.here !== true && row.here !== 't')
    throw new Error(
      `replication slot "${slot}" belongs to database ${row.database}, not this one: name another with source.config.cdc.slot`,
    );
  if (row.plugin !== 'pgoutput')
    throw new Error(`replication slot "${slot}" uses ${row.plugin}, not pgoutput`);
  return { confirmed: row.confirmed, walStatus: row.wal_status };
}

/**
 * Fails when the slot a stored LSN depends on is dropped, has lost WAL (`wal_status = lost`, it fell
 * behind max_slot_wal_keep_size) or was advanced past what was loaded (someone else consumed it).
 */
export async function checkSlot(
  client: pg.Client,
  slot: string,
  loadedLsn: string,
): Promise<{ confirmed: string; walStatus: string | null }> {
  const state = await slotState(client, slot);
  if (!state) throw new SlotLostError(slot, 'does not exist (dropped?)', loadedLsn);
  if (state.walStatus === 'lost')
    throw new SlotLostError(slot, 'fell behind and lost the WAL it needed', loadedLsn);
  if (compareLsn(state.confirmed, loadedLsn) > 0)
    throw new SlotLostError(slot, `was advanced to ${state.confirmed}, past what Sluice loaded`, loadedLsn);
  return state;
}

/** The slot's confirmed position, or undefined when there is no such slot. */
export async function slotPosition(client: pg.Client, slot: string): Promise<string | undefined> {
  return (await slotState(client, slot))?.confirmed;
}

/** One decoded change with the LSN of the transaction's commit that made it visible. */
export type SlotChange = PgoutputMessage & { lsn: string; commitLsn: string };

/**
 * The changes of transactions that committed after `afterLsn` up to `uptoLsn` (inclusive), in commit
 * order, without consuming them: the slot moves only with advanceSlot, after the load committed.
 */
export async function* peekChanges(
  client: pg.Client,
  options: { slot: string; publication: string; afterLsn: string; uptoLsn: string },
): AsyncGenerator<SlotChange> {
  const decoder = new PgoutputDecoder();
  const { rows } = await client.query<{ lsn: string; data: Buffer }>(
    `SELECT lsn::text AS lsn, data FROM pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, NULL,
       'proto_version', '1', 'publication_names', $3)`,
    [options.slot, options.uptoLsn, options.publication],
  );
  let pending: (PgoutputMessage & { lsn: string })[] = [];
  for (const row of rows) {
    const message = decoder.decode(row.data);
    if (message.kind === 'begin') pending = [];
    else if (message.kind === 'commit') {
      if (compareLsn(message.commitLsn, options.afterLsn) > 0)
        for (const m of pending) yield { ...m, commitLsn: message.commitLsn };
      pending = [];
    } else pending.push({ ...message, lsn: row.lsn });
  }
}

/** Acknowledges everything up to `lsn`: call only after the commit that stored `lsn` succeeded. */
export async function advanceSlot(client: pg.Client, slot: string, lsn: string): Promise<void> {
  await client.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [slot, lsn]);
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function qualified(table: string): string {
  return table.split('.').map(ident).join('.');
}
