import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CdcNotReadyError, checkCdcReadiness } from '../../../functions/connectors/postgres/cdc/preflight.js';
import {
  advanceSlot,
  checkSlot,
  ensureSlot,
  peekChanges,
  type SlotChange,
} from '../../../functions/connectors/postgres/cdc/slot.js';
import { logicalPostgresForTests } from '../../support/logical-pg.js';
import { TEST_DATABASE_URL } from '../warehouse/targets.js';

/**
 * The CDC building blocks on a real PostgreSQL with logical WAL (issue 17; not yet wired into runs):
 * the readiness check names every missing setting at once and creates nothing; the slot is read by
 * peeking (nothing consumed) and moves only when advanced; a dropped slot is reported, never reset.
 */
const url = await logicalPostgresForTests('CDC slot tests');
const suffix = randomBytes(4).toString('hex');

describe.runIf(url)('CDC from PostgreSQL: readiness, slot and pgoutput (logical-WAL PostgreSQL)', () => {
  let admin: pg.Client;
  const slot = `sluice_slot_${suffix}`;
  const publication = `sluice_pub_${suffix}`;
  const table = `cdc_customers_${suffix}`;
  const weak = `sluice_weak_${suffix}`;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`
      CREATE TABLE ${table} (id bigint PRIMARY KEY, day date NOT NULL, name text);
      CREATE TABLE ${table}_nokey (id bigint, name text);
      CREATE ROLE ${weak} LOGIN;
      GRANT SELECT ON ${table}_nokey TO ${weak};`);
  });
  afterAll(async () => {
    await admin.query(
      `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`,
      [slot],
    );
    await admin.query(
      `DROP PUBLICATION IF EXISTS ${publication}; DROP TABLE IF EXISTS ${table}, ${table}_nokey`,
    );
    await admin.query(`DROP OWNED BY ${weak}; DROP ROLE IF EXISTS ${weak}`);
    await admin.end();
  });

  it('fails naming wal_level and its fix on a server with wal_level=replica', async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      const level = (await client.query<{ wal_level: string }>('SHOW wal_level')).rows[0]!.wal_level;
      if (level === 'logical') return; // the machine's server was switched to logical: nothing to refuse
      await expect(checkCdcReadiness(client, 'pg_class', 'the test server')).rejects.toThrow(
        `wal_level is ${level}, CDC needs logical: ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL`,
      );
    } finally {
      await client.end();
    }
  });

  it('fails with one message naming the missing REPLICATION and the missing key, creating nothing', async () => {
    const u = new URL(url!);
    u.username = weak;
    const client = new pg.Client({ connectionString: u.toString() });
    await client.connect();
    const slotsBefore = (await admin.query('SELECT count(*)::int AS n FROM pg_replication_slots')).rows[0].n;
    try {
      const error = await checkCdcReadiness(client, `${table}_nokey`, 'crm').catch((e: unknown) => e);

      expect(error).toBeInstanceOf(CdcNotReadyError);
      expect((error as CdcNotReadyError).problems).toEqual([
        `login "${weak}" may not replicate: ALTER ROLE "${weak}" REPLICATION`,
        `table public.${table}_nokey has no primary key or replica identity, so its updates and deletes carry no key: ALTER TABLE public.${table}_nokey ADD PRIMARY KEY (…), or ALTER TABLE public.${table}_nokey REPLICA IDENTITY FULL`,
      ]);
      expect((await admin.query('SELECT count(*)::int AS n FROM pg_replication_slots')).rows[0].n).toBe(
        slotsBefore,
      );
      expect((await admin.query('SELECT count(*)::int AS n FROM pg_publication')).rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
  });

  it('reads inserts, updates and deletes in commit order by peeking, and moves only when advanced', async () => {
    await checkCdcReadiness(admin, table, 'crm');
    const start = await ensureSlot(admin, { slot, publication, table });
    expect(start.created).toBe(true);
    await admin.query(`INSERT INTO ${table} VALUES (1, '2026-01-05', 'a'), (2, '2026-01-06', 'b')`);
    await admin.query(
      `BEGIN; UPDATE ${table} SET day = '2026-03-01', name = 'moved' WHERE id = 1; DELETE FROM ${table} WHERE id = 2; COMMIT`,
    );
    const upto = (await admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!
      .lsn;
    const read = async (afterLsn: string) => {
      const out: SlotChange[] = [];
      for await (const c of peekChanges(admin, { slot, publication, afterLsn, uptoLsn: upto })) out.push(c);
      return out;
    };

    const changes = (await read(start.lsn)).filter((c) => c.kind !== 'relation');
    const summary = changes.map((c) =>
      c.kind === 'delete'
        ? ['delete', c.old.values]
        : c.kind === 'insert' || c.kind === 'update'
          ? [c.kind, c.row.values]
          : [c.kind],
    );
    expect(summary).toEqual([
      ['insert', { id: '1', day: '2026-01-05', name: 'a' }],
      ['insert', { id: '2', day: '2026-01-06', name: 'b' }],
      ['update', { id: '1', day: '2026-03-01', name: 'moved' }],
      ['delete', { id: '2', day: null, name: null }],
    ]);
    // Peeking consumed nothing: the same changes again.
    expect((await read(start.lsn)).filter((c) => c.kind !== 'relation')).toHaveLength(4);

    const last = changes.at(-1)!.commitLsn;
    await advanceSlot(admin, slot, last);
    await checkSlot(admin, slot, last);
    expect((await read(last)).filter((c) => c.kind !== 'relation')).toEqual([]);
  });

  it('fails when the slot the loaded LSN needs was dropped, never recreating it quietly', async () => {
    const loaded = (
      await admin.query<{ lsn: string }>(
        `SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1`,
        [slot],
      )
    ).rows[0]!.lsn;
    await admin.query('SELECT pg_drop_replication_slot($1)', [slot]);

    await expect(checkSlot(admin, slot, loaded)).rejects.toThrow(
      `replication slot "${slot}" does not exist (dropped?); the changes after ${loaded}, the last one loaded, can no longer be read: reload the table with --full-refresh (it recreates the slot) or restore the slot; Sluice never resets it silently`,
    );
  });
});
