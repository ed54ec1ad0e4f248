import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteWarehouse } from '../../../functions/adapters/warehouse/pglite.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import { createScratchPg, postgresAvailable, type ScratchPg, specFromFixture } from './databases.js';

/**
 * mode: history and deletes into the default local warehouse, PGlite (a PostgreSQL source still needs
 * the real server): the commit's temporary table, clock and key snapshot work there too.
 */
describe.skipIf(!postgresAvailable)('mode: history and deletes: hard into PGlite', () => {
  let source: ScratchPg;
  let wh: PgliteWarehouse;
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  const home = mkdtempSync(join(tmpdir(), 'sluice-history-pglite-'));
  const specs: Record<string, string> = {};
  const run = (name: string) => runPipelineLocally({ specFile: specs[name]!, home, warehouse: wh, logger });

  beforeAll(async () => {
    source = await createScratchPg('sluice_hist_lite');
    await source.client.query(`
      CREATE TABLE customers (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, signup_day date NOT NULL, name text, tier text);
      INSERT INTO customers
      SELECT g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute', date '2026-01-01' + (g % 90), 'c' || g, 'bronze'
        FROM generate_series(1, 200) g;`);
    wh = await PgliteWarehouse.open();
    // The same two pipelines into plain (unpartitioned) tables: no partitioning, the key without day.
    const unpartitioned = (file: string, table: string) => {
      const text = readFileSync(file, 'utf8')
        .replace(/^name: (.*)$/m, 'name: $1-flat')
        .replace(/table: (customers_\w+)/, `table: ${table}`)
        .replace(/^ {2}partitioning: .*$/m, '')
        .replace('key: [id, signup_day]', 'key: [id]');
      const out = file.replace(/\.yaml$/, '-flat.yaml');
      writeFileSync(out, text);
      return out;
    };
    specs.historyFlat = unpartitioned(
      specFromFixture('pg-customers-history.yaml', { SOURCE_DB: source.database }),
      'customers_history_flat',
    );
    specs.hardFlat = unpartitioned(
      specFromFixture('pg-customers-deletes.yaml', { SOURCE_DB: source.database, DELETES: 'hard' }),
      'customers_hard_flat',
    );
    specs.history = specFromFixture('pg-customers-history.yaml', { SOURCE_DB: source.database });
    specs.hard = specFromFixture('pg-customers-deletes.yaml', {
      SOURCE_DB: source.database,
      DELETES: 'hard',
    });
  });
  afterAll(async () => {
    await wh?.close();
    await source?.dispose();
  });

  it('versions a change, closes a delete and moves a row, as on the server', async () => {
    for (const name of ['history', 'hard', 'historyFlat', 'hardFlat'])
      expect((await run(name)).error).toBeUndefined();
    await source.client.query(`
      UPDATE customers SET tier = 'gold', signup_day = signup_day + 60, updated_at = timestamptz '2026-06-01 00:00:00+00' WHERE id = 10;
      DELETE FROM customers WHERE id = 20;`);
    for (const name of ['history', 'hard', 'historyFlat', 'hardFlat'])
      expect((await run(name)).error).toBeUndefined();

    const history = await wh.query<{ id: number; tier: string; current: boolean }>(
      `SELECT id::int AS id, tier, is_current AS current FROM crm.customers_history WHERE id IN (10, 20) ORDER BY id, valid_from`,
    );
    expect(history.rows).toEqual([
      { id: 10, tier: 'bronze', current: false },
      { id: 10, tier: 'gold', current: true },
      { id: 20, tier: 'bronze', current: false },
    ]);
    const upserted = await wh.query<{ n: number; moved: string }>(
      `SELECT count(*)::int AS n, (SELECT signup_day::text FROM crm.customers_hard WHERE id = 10) AS moved FROM crm.customers_hard`,
    );
    expect(upserted.rows[0]).toEqual({ n: 199, moved: '2026-03-12' });
  });

  it('keeps history and deletes in plain tables too (no partitioning)', async () => {
    const flat = await wh.query<{ id: number; tier: string; current: boolean }>(
      `SELECT id::int AS id, tier, is_current AS current FROM crm.customers_history_flat WHERE id IN (10, 20) ORDER BY id, valid_from`,
    );
    const kind = await wh.query<{ relkind: string }>(
      `SELECT relkind FROM pg_class WHERE oid = 'crm.customers_history_flat'::regclass`,
    );
    const hard = await wh.query<{ n: number; day: string }>(
      `SELECT count(*)::int AS n, (SELECT signup_day::text FROM crm.customers_hard_flat WHERE id = 10) AS day FROM crm.customers_hard_flat`,
    );

    expect(flat.rows).toEqual([
      { id: 10, tier: 'bronze', current: false },
      { id: 10, tier: 'gold', current: true },
      { id: 20, tier: 'bronze', current: false },
    ]);
    expect(kind.rows[0]?.relkind).toBe('r');
    expect(hard.rows[0]).toEqual({ n: 199, day: '2026-03-12' });
  });
});
