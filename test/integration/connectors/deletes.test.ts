import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgWarehouse } from '../../../functions/adapters/warehouse/pg.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import {
  createScratchPg,
  openPgWarehouse,
  postgresAvailable,
  type ScratchPg,
  specFromFixture,
} from './databases.js';

/**
 * destination.deletes on a postgres source (issue 17): each run lists the source's keys by key range in
 * its chunks, exactly once, and the commit deletes (or soft-deletes) what the source no longer has and
 * moves rows whose partition column changed. The target must equal the source, row for row.
 */
const COLUMNS = 'id, updated_at, signup_day, name';

describe.skipIf(!postgresAvailable)('deletes by key snapshot from PostgreSQL (real PostgreSQL)', () => {
  let source: ScratchPg;
  let target: ScratchPg;
  let wh: PgWarehouse;
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  const home = mkdtempSync(join(tmpdir(), 'sluice-deletes-'));
  const specs: Record<string, string> = {};
  const run = (mode: 'hard' | 'soft') =>
    runPipelineLocally({ specFile: specs[mode]!, home, warehouse: wh, logger });

  const fingerprint = async (db: ScratchPg, table: string, where = 'true') =>
    (
      await db.client.query<{ n: string; sum: string }>(
        `SELECT count(*) AS n, md5(coalesce(string_agg(concat_ws('|', ${COLUMNS}), ',' ORDER BY id), '')) AS sum
           FROM ${table} WHERE ${where}`,
      )
    ).rows[0];
  const summaryOf = async (runId: string | undefined) =>
    (await target.client.query(`SELECT summary FROM sluice.runs WHERE run_id = $1`, [runId])).rows[0]
      ?.summary;
  let tick = 0;
  const touch = (sql: string) =>
    source.client.query(
      sql.replaceAll('NOW', `timestamptz '2026-06-01 00:00:00+00' + interval '${++tick} minutes'`),
    );

  beforeAll(async () => {
    source = await createScratchPg('sluice_del_src');
    target = await createScratchPg('sluice_del_wh');
    await source.client.query(`
      CREATE TABLE customers (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, signup_day date NOT NULL, name text);
      INSERT INTO customers
      SELECT g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute', date '2026-01-01' + (g % 90), 'c' || g
        FROM generate_series(1, 2000) g;`);
    wh = openPgWarehouse(target.url);
    for (const mode of ['hard', 'soft'] as const)
      specs[mode] = specFromFixture('pg-customers-deletes.yaml', {
        SOURCE_DB: source.database,
        DELETES: mode,
      });
  });
  afterAll(async () => {
    await wh?.close();
    await source?.dispose();
    await target?.dispose();
  });

  it('deletes, moves, inserts and updates so the target equals the source (deletes: hard)', async () => {
    const first = await run('hard');
    expect(first.error).toBeUndefined();
    expect(await fingerprint(target, 'crm.customers_hard')).toEqual(await fingerprint(source, 'customers'));

    await touch(`DELETE FROM customers WHERE id % 100 = 7;`); // 20 rows
    await touch(`UPDATE customers SET signup_day = signup_day + 45, updated_at = NOW WHERE id % 200 = 3;`); // 10 moves
    await touch(`UPDATE customers SET name = 'renamed', updated_at = NOW WHERE id % 500 = 11;`); // 4 updates
    await touch(
      `INSERT INTO customers VALUES (5001, NOW, date '2026-05-05', 'new'), (5002, NOW, date '2026-01-02', 'new');`,
    );
    const second = await run('hard');

    expect(second.error).toBeUndefined();
    expect(await fingerprint(target, 'crm.customers_hard')).toEqual(await fingerprint(source, 'customers'));
    expect(await summaryOf(second.runId)).toMatchObject({ deleted: 20, moved: 10, restored: 0 });
  });

  it('finds a delete when no row changed since the last run (a keys-only run)', async () => {
    await source.client.query(`DELETE FROM customers WHERE id IN (1, 1999)`);

    const result = await run('hard');

    expect(result.error).toBeUndefined();
    expect(result.summary?.loaded).toBe(0);
    expect(await fingerprint(target, 'crm.customers_hard')).toEqual(await fingerprint(source, 'customers'));
    expect(await summaryOf(result.runId)).toMatchObject({ deleted: 2, moved: 0 });
  });

  it('marks deleted rows with deleted_at and clears it when the key comes back (deletes: soft)', async () => {
    expect((await run('soft')).error).toBeUndefined();
    await touch(`DELETE FROM customers WHERE id IN (2, 3, 4);`);
    expect((await run('soft')).error).toBeUndefined();

    const marked = await target.client.query<{ id: string }>(
      `SELECT id FROM crm.customers_soft WHERE deleted_at IS NOT NULL ORDER BY id`,
    );
    expect(marked.rows.map((r) => Number(r.id))).toEqual([2, 3, 4]);
    expect(await fingerprint(target, 'crm.customers_soft', 'deleted_at IS NULL')).toEqual(
      await fingerprint(source, 'customers'),
    );

    // Customer 4 (signup 2026-01-05) comes back in the same partition: its soft-deleted row is restored.
    await touch(`INSERT INTO customers VALUES (4, NOW, date '2026-01-05', 'back');`);
    const back = await run('soft');

    expect(back.error).toBeUndefined();
    expect(await summaryOf(back.runId)).toMatchObject({ deleted: 0, moved: 0, restored: 1 });
    expect(await fingerprint(target, 'crm.customers_soft', 'deleted_at IS NULL')).toEqual(
      await fingerprint(source, 'customers'),
    );
  });
});
