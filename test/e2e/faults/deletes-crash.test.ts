import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScratchPg,
  postgresAvailable,
  type ScratchPg,
  specFromFixture,
} from '../../integration/connectors/databases.js';
import { runCli } from '../../support/cli.js';

/**
 * A run with deletes and partition moves (deletes: hard) and a history run, killed (exit 137) in the
 * middle of their chunks and inside their commit; the next runs take over. The key snapshot is staged
 * with each chunk exactly once and applied only in the commit: the target must end equal to the source
 * (deletes) and to the change log (history: exactly one version per change, none twice).
 */
describe.skipIf(!postgresAvailable)(
  'deletes and history runs killed mid-run and mid-commit (real PostgreSQL)',
  () => {
    let source: ScratchPg;
    let target: ScratchPg;
    const home = mkdtempSync(join(tmpdir(), 'sluice-del-crash-'));
    const specs: Record<string, string> = {};
    const cli = (spec: string, fault?: string) =>
      runCli(['run', specs[spec]!, '--home', home, '--concurrency', '1'], {
        DATABASE_URL: target.url,
        ...(fault ? { SLUICE_FAULT: fault } : {}),
      });
    const fingerprint = async (db: ScratchPg, table: string) =>
      (
        await db.client.query<{ n: string; sum: string }>(
          `SELECT count(*) AS n, md5(coalesce(string_agg(concat_ws('|', id, updated_at, signup_day, name), ',' ORDER BY id), '')) AS sum FROM ${table}`,
        )
      ).rows[0];

    beforeAll(async () => {
      source = await createScratchPg('sluice_delcrash_src');
      target = await createScratchPg('sluice_delcrash_wh');
      await source.client.query(`
      CREATE TABLE customers (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, signup_day date NOT NULL, name text, tier text);
      INSERT INTO customers
      SELECT g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute', date '2026-01-01' + (g % 90), 'c' || g, 'bronze'
        FROM generate_series(1, 3000) g;`);
      specs.hard = specFromFixture('pg-customers-deletes.yaml', {
        SOURCE_DB: source.database,
        DELETES: 'hard',
      });
      specs.history = specFromFixture('pg-customers-history.yaml', { SOURCE_DB: source.database });
      for (const spec of ['hard', 'history']) expect((await cli(spec)).code).toBe(0);
      await source.client.query(`
      DELETE FROM customers WHERE id % 100 = 7;
      UPDATE customers SET signup_day = signup_day + 45, tier = 'silver', updated_at = timestamptz '2026-06-01 00:00:00+00'
       WHERE id % 100 = 3;`);
    }, 240_000);
    afterAll(async () => {
      await source?.dispose();
      await target?.dispose();
    });

    it('a killed deletes run, then one killed in its commit, then a clean rerun: target equals the source', async () => {
      const midChunks = await cli('hard', 'after-chunk-commit:die:2');
      expect(midChunks.code).toBe(137);
      const inCommit = await cli('hard', 'inside-run-commit:die');
      expect(inCommit.code).toBe(137);
      const clean = await cli('hard');

      expect(clean.code).toBe(0);
      expect(await fingerprint(target, 'crm.customers_hard')).toEqual(await fingerprint(source, 'customers'));
    });

    it('a history run killed in its commit, then rerun: one new version per change, none twice', async () => {
      expect((await cli('history', 'inside-run-commit:die')).code).toBe(137);
      expect((await cli('history')).code).toBe(0);

      const versions = await target.client.query<{ current: boolean; n: number }>(
        `SELECT is_current AS current, count(*)::int AS n FROM crm.customers_history GROUP BY 1 ORDER BY 1`,
      );
      // 3000 first versions; 30 changed (closed + reopened), 30 deleted (closed): 3030 rows, 2970 current.
      expect(versions.rows).toEqual([
        { current: false, n: 60 },
        { current: true, n: 2970 },
      ]);
    });
  },
);
