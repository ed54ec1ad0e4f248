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
 * mode: history (issue 17): after every run the history table must equal the change log the test
 * keeps of the source — per customer, one version per distinct (name, tier) seen by a run, the last one
 * current unless the customer was deleted — with versions that meet (valid_to = next valid_from).
 */
type Version = { id: number; name: string; tier: string; current: boolean };

describe.skipIf(!postgresAvailable)('mode: history from PostgreSQL (real PostgreSQL)', () => {
  let source: ScratchPg;
  let target: ScratchPg;
  let wh: PgWarehouse;
  let specFile: string;
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  const home = mkdtempSync(join(tmpdir(), 'sluice-history-'));
  const changeLog = new Map<number, Version[]>();
  let tick = 0;

  const touch = (sql: string) =>
    source.client.query(
      sql.replaceAll('NOW', `timestamptz '2026-06-01 00:00:00+00' + interval '${++tick} minutes'`),
    );
  /** What a run must record: the source as it is now, appended to the change log. */
  const observe = async () => {
    const rows = (
      await source.client.query<{ id: string; name: string; tier: string }>(
        'SELECT id, name, tier FROM customers',
      )
    ).rows;
    const seen = new Set<number>();
    for (const r of rows) {
      const id = Number(r.id);
      seen.add(id);
      const versions = changeLog.get(id) ?? [];
      const last = versions.at(-1);
      if (last?.current && last.name === r.name && last.tier === r.tier) continue;
      if (last) last.current = false;
      versions.push({ id, name: r.name, tier: r.tier, current: true });
      changeLog.set(id, versions);
    }
    for (const [id, versions] of changeLog) if (!seen.has(id)) versions.at(-1)!.current = false;
  };
  const expected = () => [...changeLog.keys()].sort((a, b) => a - b).flatMap((id) => changeLog.get(id)!);
  const history = async () =>
    (
      await target.client.query<{ id: string; name: string; tier: string; current: boolean }>(
        `SELECT id, name, tier, is_current AS current FROM crm.customers_history ORDER BY id, valid_from`,
      )
    ).rows.map((r) => ({ id: Number(r.id), name: r.name, tier: r.tier, current: r.current }));
  const runAndObserve = async () => {
    const result = await runPipelineLocally({ specFile, home, warehouse: wh, logger });
    expect(result.error).toBeUndefined();
    await observe();
    return result;
  };

  beforeAll(async () => {
    source = await createScratchPg('sluice_hist_src');
    target = await createScratchPg('sluice_hist_wh');
    await source.client.query(`
      CREATE TABLE customers (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, name text, tier text);
      INSERT INTO customers
      SELECT g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute', 'c' || g, 'bronze'
        FROM generate_series(1, 300) g;`);
    wh = openPgWarehouse(target.url);
    specFile = specFromFixture('pg-customers-history.yaml', { SOURCE_DB: source.database });
  });
  afterAll(async () => {
    await wh?.close();
    await source?.dispose();
    await target?.dispose();
  });

  it('opens one version per customer on the first run', async () => {
    await runAndObserve();

    expect(await history()).toEqual(expected());
    expect(await history()).toHaveLength(300);
  });

  it('versions changes of tracked columns, closes deleted customers, ignores untracked changes', async () => {
    await touch(`UPDATE customers SET tier = 'silver', updated_at = NOW WHERE id % 10 = 1;`); // 30 changes
    await touch(`UPDATE customers SET updated_at = NOW WHERE id % 10 = 2;`); // no tracked change
    await touch(`DELETE FROM customers WHERE id % 50 = 5;`); // 6 deletes
    await touch(`INSERT INTO customers VALUES (301, NOW, 'new', 'gold');`);
    const second = await runAndObserve();
    await touch(
      `UPDATE customers SET tier = 'gold', name = 'renamed', updated_at = NOW WHERE id IN (1, 11);`,
    );
    await touch(`INSERT INTO customers VALUES (5, NOW, 'back', 'bronze');`); // a deleted key returns
    await runAndObserve();

    expect(await history()).toEqual(expected());
    const summary = (
      await target.client.query('SELECT summary FROM sluice.runs WHERE run_id = $1', [second.runId])
    ).rows[0]?.summary;
    expect(summary).toMatchObject({ closed: 30, deleted: 6, written: 31, updatedInPlace: 30 });
  });

  it('keeps versions of a key contiguous, one current at most, all in valid_from partitions', async () => {
    const gaps = await target.client.query(`
      SELECT id FROM (
        SELECT id, valid_to, lead(valid_from) OVER (PARTITION BY id ORDER BY valid_from) AS next FROM crm.customers_history
      ) v WHERE next IS NOT NULL AND valid_to IS DISTINCT FROM next AND id <> 5`);
    const currents = await target.client.query(
      `SELECT id FROM crm.customers_history WHERE is_current GROUP BY id HAVING count(*) > 1`,
    );
    const inDefault = await target.client.query(
      `SELECT count(*)::int AS n FROM crm.customers_history_default`,
    );

    expect(gaps.rows).toEqual([]);
    expect(currents.rows).toEqual([]);
    expect(inDefault.rows[0].n).toBe(0);
  });
});
