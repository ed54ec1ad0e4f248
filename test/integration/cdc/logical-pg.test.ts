import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logicalPostgresForTests } from '../../support/logical-pg.js';

/** The tests' own PostgreSQL with logical WAL: it starts (or is reused) and decodes changes with pgoutput. */
const url = await logicalPostgresForTests('logical-WAL PostgreSQL');

describe.runIf(url)('the logical-WAL test PostgreSQL', () => {
  let client: pg.Client;
  const slot = `sluice_t_${randomBytes(4).toString('hex')}`;
  const table = `t_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    client = new pg.Client({ connectionString: url });
    await client.connect();
  });
  afterAll(async () => {
    await client.query(`SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1`, [
      slot,
    ]);
    await client.query(`DROP PUBLICATION IF EXISTS ${table}_pub`);
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.end();
  });

  it('runs with wal_level=logical and replication slots', async () => {
    const settings = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('wal_level', 'max_replication_slots', 'max_wal_senders') ORDER BY name`,
    );

    expect(Object.fromEntries(settings.rows.map((r) => [r.name, r.setting]))).toEqual({
      max_replication_slots: '16',
      max_wal_senders: '16',
      wal_level: 'logical',
    });
  });

  it('decodes an insert through a pgoutput slot', async () => {
    await client.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text)`);
    await client.query(`CREATE PUBLICATION ${table}_pub FOR TABLE ${table}`);
    await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);

    await client.query(`INSERT INTO ${table} VALUES (1, 'a')`);
    const changes = await client.query<{ data: Buffer }>(
      `SELECT data FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2)`,
      [slot, `${table}_pub`],
    );

    // B(egin), R(elation), I(nsert), C(ommit)
    expect(changes.rows.map((r) => String.fromCharCode(r.data[0]!))).toEqual(['B', 'R', 'I', 'C']);
  });
});
