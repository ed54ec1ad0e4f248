import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureSlotLag } from '../../../functions/connectors/postgres/cdc/lag.js';
import { SlotLostError } from '../../../functions/connectors/postgres/cdc/slot.js';
import { logicalPostgresForTests } from '../../support/logical-pg.js';

/**
 * The slot-lag measurement behind the ReplicationSlotLagBytes metric, on a real PostgreSQL with logical
 * WAL: the lag is the WAL written since the slot's confirmed position, so it grows by at least what is
 * written while the slot stands still and falls back when the slot is advanced. Other tests share the
 * instance and write WAL too, so each expectation is a bound taken around the measurement, never a
 * guess at an exact byte count.
 */
const url = await logicalPostgresForTests('CDC slot-lag tests');
const suffix = randomBytes(4).toString('hex');

describe.runIf(url)('replication slot lag (logical-WAL PostgreSQL)', () => {
  let admin: pg.Client;
  const slot = `sluice_lag_${suffix}`;
  const physical = `sluice_phys_${suffix}`;
  const table = `cdc_lag_${suffix}`;

  const currentLsn = async () =>
    (await admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
  const bytesBetween = async (from: string, to: string) =>
    Number(
      (
        await admin.query<{ d: string }>(
          'SELECT pg_wal_lsn_diff($2::pg_lsn, $1::pg_lsn)::bigint::text AS d',
          [from, to],
        )
      ).rows[0]!.d,
    );

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, payload text NOT NULL)`);
    await admin.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    await admin.query('SELECT pg_create_physical_replication_slot($1)', [physical]);
  });
  afterAll(async () => {
    await admin.query(
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ($1, $2)',
      [slot, physical],
    );
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.end();
  });

  it('grows by at least the WAL written while the slot is not advanced, and drops once it is', async () => {
    const before = await measureSlotLag(admin, slot);
    const writesFrom = await currentLsn();
    await admin.query(
      `INSERT INTO ${table} SELECT g, repeat(md5(g::text), 32) FROM generate_series(1, 4000) AS g`,
    );
    const written = await bytesBetween(writesFrom, await currentLsn());

    const grown = await measureSlotLag(admin, slot);

    expect(written).toBeGreaterThan(4000 * 1024); // 4,000 rows of 1 KiB: the WAL really was written
    expect(grown.lagBytes - before.lagBytes).toBeGreaterThanOrEqual(written);
    expect(grown.walStatus).toBe('reserved');
    // The test instance keeps WAL for slots without limit (max_slot_wal_keep_size = -1).
    expect(grown.safeWalSizeBytes).toBeNull();

    const advancedTo = await currentLsn();
    await admin.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [slot, advancedTo]);
    const after = await measureSlotLag(admin, slot);
    const heldAtMost = await bytesBetween(advancedTo, await currentLsn());

    expect(after.lagBytes).toBeLessThanOrEqual(heldAtMost);
    expect(after.lagBytes).toBeLessThan(grown.lagBytes);
    expect(after.walStatus).toBe('reserved');
  });

  it('fails when the slot does not exist, saying it was dropped and how to recover', async () => {
    const missing = `sluice_gone_${suffix}`;

    const error = await measureSlotLag(admin, missing).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SlotLostError);
    expect((error as Error).message).toBe(
      `replication slot "${missing}" does not exist (dropped?): reload the table with --full-refresh (it recreates the slot) or restore the slot; Sluice never resets it silently`,
    );
  });

  it('fails when the slot is a physical one, naming the setting to check', async () => {
    await expect(measureSlotLag(admin, physical)).rejects.toThrow(
      `replication slot "${physical}" is a physical slot, not the logical slot of a CDC source: check source.config.cdc.slot`,
    );
  });
});
