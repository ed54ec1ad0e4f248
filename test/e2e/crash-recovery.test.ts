import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipelineLocally } from '../../functions/local/runner.js';
import { monthCsv } from '../../pipelines/generate-samples.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';
import { runCli } from '../support/cli.js';
import { exampleSpec, tableFingerprint } from '../support/pipelines.js';

/**
 * DESIGN.md: "a rerun after a crash gives the same table". The CLI is killed (SIGKILL, no cleanup) in the
 * middle of the chunk phase; the next run must take over the dead run and end with exactly the rows of a
 * clean run: same count, same checksum over every row, no duplicate keys.
 */
const pgTarget = warehouseTargets.find((t) => t.name === 'pg');

describe.runIf(pgTarget)('a local run killed in the middle of the chunk phase (real PostgreSQL)', () => {
  let crashed: TestWarehouse;
  let clean: TestWarehouse;
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-crash-data-'));
  // Twelve months of orders, cut into many small chunks so the kill lands between chunk commits.
  beforeAll(async () => {
    const { writeFileSync } = await import('node:fs');
    for (let m = 1; m <= 12; m++) {
      const month = `2025-${String(m).padStart(2, '0')}`;
      writeFileSync(join(dataDir, `orders-${month}.csv`), monthCsv(month, m, 3000));
    }
    crashed = await pgTarget!.open();
    clean = await pgTarget!.open();
  });
  afterAll(async () => {
    await crashed?.dispose();
    await clean?.dispose();
  });

  it('reruns to exactly the rows of a clean run', async () => {
    const { dir, specFile } = exampleSpec(
      [
        ['targetBytes: 32KiB', 'targetBytes: 8KiB'],
        ['concurrency: 4', 'concurrency: 1'],
      ],
      dataDir,
    );
    const home = join(dir, '.sluice');
    const env = { DATABASE_URL: crashed.url! };

    // Act 1: start the CLI and kill -9 it once some chunks are in the ledger but the run is not committed.
    const first = runCli(['run', specFile, '--home', home], env);
    const loadedChunks = async () => {
      const r = await crashed.wh
        .query<{ n: number }>(
          "SELECT count(*)::int AS n FROM sluice.run_chunks c JOIN sluice.runs r USING (run_id) WHERE r.status = 'running'",
        )
        .catch(() => ({ rows: [{ n: 0 }] }));
      return r.rows[0]!.n;
    };
    const deadline = Date.now() + 60_000;
    while ((await loadedChunks()) < 5) {
      if (Date.now() > deadline) throw new Error(`the run never got going: ${(await first).stderr}`);
      await sleep(20);
    }
    first.child.kill('SIGKILL');
    const killed = await first;
    expect(killed.code).toBeNull();

    // The killed run is visible in the ledger as running, its chunks staged, and nothing in the target.
    const ledger = await crashed.wh.query<{ status: string; chunks: number; planned: number }>(
      'SELECT r.status, (SELECT count(*)::int FROM sluice.run_chunks c WHERE c.run_id = r.run_id) AS chunks, r.chunk_count AS planned FROM sluice.runs r',
    );
    expect(ledger.rows).toHaveLength(1);
    expect(ledger.rows[0]!.status).toBe('running');
    expect(ledger.rows[0]!.chunks).toBeGreaterThanOrEqual(5);
    expect(ledger.rows[0]!.chunks).toBeLessThan(ledger.rows[0]!.planned);
    expect((await tableFingerprint(crashed.wh, 'analytics.orders', 'order_id, order_date')).rows).toBe(0);

    // Act 2: run again, as a user would.
    const second = await runCli(['run', specFile, '--home', home], env);
    expect(second.stderr).not.toContain('failed');
    expect(second.code).toBe(0);

    // Act 3: a clean run of the same spec into another database.
    const reference = await runPipelineLocally({ specFile, home: join(dir, '.clean'), warehouse: clean.wh });
    expect(reference.status).toBe('succeeded');

    // Assess: the same table, the dead run abandoned, no duplicate keys.
    const got = await tableFingerprint(crashed.wh, 'analytics.orders', 'order_id, order_date');
    const want = await tableFingerprint(clean.wh, 'analytics.orders', 'order_id, order_date');
    expect(got.rows).toBe(reference.summary!.loaded);
    expect(got).toEqual(want);
    const statuses = await crashed.wh.query<{ status: string }>(
      'SELECT status FROM sluice.runs ORDER BY started_at',
    );
    expect(statuses.rows.map((r) => r.status)).toEqual(['abandoned', 'succeeded']);
    const dupes = await crashed.wh.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM (SELECT order_id, order_date FROM analytics.orders GROUP BY 1, 2 HAVING count(*) > 1) d',
    );
    expect(dupes.rows[0]!.n).toBe(0);
    // The dead run's staging table is gone; its run files (manifests, rejects) stay in staging (for inspection), not in the target.
    const staging = await crashed.wh.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'sluice_staging'",
    );
    expect(staging.rows[0]!.n).toBe(0);
    expect(existsSync(join(home, 'staging', 'runs'))).toBe(true);
    expect(readdirSync(join(home, 'staging', 'runs'))).toHaveLength(2);
  }, 240_000);
});
