// A CDC test source on the logical-WAL PostgreSQL: a customers table, its seed and change workloads, and fingerprints to compare a target with it.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { specFromFixture } from '../integration/connectors/databases.js';
import { LOGICAL_PG_PORT } from './logical-pg.js';

export interface CdcSource {
  database: string;
  client: pg.Client;
  /** A fixture spec (pg-cdc-upsert.yaml, pg-cdc-history.yaml) for a pipeline named `<kind>-<suffix>`. */
  spec(fixture: string, pipeline: string, values?: Record<string, string>): string;
  /** The replication slots and publications on the source (what a run created). */
  slots(): Promise<string[]>;
  publications(): Promise<string[]>;
  dispose(): Promise<void>;
}

/**
 * A fresh database on the logical instance with `customers` (id bigint primary key, signup_day,
 * name, tier, notes): 3000 rows; every id ending in 90 has a 6,400-character random note, stored
 * out of line (TOAST), so an update that leaves it alone sends it as "unchanged".
 */
export async function createCdcSource(url: string): Promise<CdcSource> {
  const database = `sluice_cdc_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  await client.query(`
    CREATE TABLE customers (id bigint PRIMARY KEY, signup_day date NOT NULL, name text, tier text, notes text);
    INSERT INTO customers
    SELECT g, date '2026-01-01' + (g % 90), 'c' || g, 'bronze',
           CASE WHEN g % 100 = 90 THEN (SELECT string_agg(md5(random()::text || g || s), '') FROM generate_series(1, 200) s) END
      FROM generate_series(1, 3000) g;`);
  return {
    database,
    client,
    spec: (fixture, pipeline, values = {}) =>
      specFromFixture(fixture, {
        PIPELINE_TABLE: pipeline.replaceAll('-', '_'),
        PIPELINE: pipeline,
        SOURCE_DB: database,
        PORT: String(LOGICAL_PG_PORT),
        USER: 'postgres',
        TABLE: 'customers',
        ...values,
      }),
    slots: async () =>
      (
        await client.query<{ n: string }>(
          'SELECT slot_name AS n FROM pg_replication_slots WHERE database = current_database() ORDER BY 1',
        )
      ).rows.map((r) => r.n),
    publications: async () =>
      (await client.query<{ n: string }>('SELECT pubname AS n FROM pg_publication ORDER BY 1')).rows.map(
        (r) => r.n,
      ),
    async dispose() {
      await client.query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()',
      );
      await client.end();
      const a = new pg.Client({ connectionString: url });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await a.end();
    },
  };
}

/** The rows of a table (or the current versions of a history table) as a count and an md5, by id. */
export async function fingerprint(
  client: pg.Client,
  table: string,
  where = 'true',
): Promise<{ n: string; sum: string }> {
  return (
    await client.query<{ n: string; sum: string }>(
      `SELECT count(*) AS n, md5(coalesce(string_agg(concat_ws('|', id, signup_day, name, tier, md5(notes)), ',' ORDER BY id), '')) AS sum
         FROM ${table} WHERE ${where}`,
    )
  ).rows[0]!;
}

/**
 * Changes in many small transactions (so a change run has several chunks), each kind a change run must
 * apply: 20 transactions changing name and tier of 5 rows each (100 new versions), signup_day moved by 45
 * days for ids ending in 50 (partition moves; no version), deletes of ids ending in 60, key changes of
 * ids ending in 70 (+100000), a transaction that inserts 5 rows, updates them and deletes one (4 new
 * versions), and a tier change of the rows with a TOASTed note that the update leaves alone (30
 * versions). A history table gains 164 versions.
 */
export async function changeWorkload(client: pg.Client): Promise<void> {
  for (let i = 0; i < 20; i++)
    await client.query(
      `UPDATE customers SET tier = 'gold', name = name || '!' WHERE id BETWEEN ${i * 100 + 1} AND ${i * 100 + 5}`,
    );
  await client.query(`UPDATE customers SET signup_day = signup_day + 45 WHERE id % 100 = 50`);
  await client.query(`DELETE FROM customers WHERE id % 100 = 60`);
  await client.query(`UPDATE customers SET id = id + 100000 WHERE id % 100 = 70`);
  await client.query(`BEGIN;
    INSERT INTO customers SELECT g, date '2026-03-01', 'new' || g, 'bronze', NULL FROM generate_series(200001, 200005) g;
    UPDATE customers SET tier = 'silver' WHERE id > 200000;
    DELETE FROM customers WHERE id = 200005;
    COMMIT;`);
  await client.query(`UPDATE customers SET tier = 'platinum' WHERE id % 100 = 90`);
}
