import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LambdaPool } from '../../functions/local/lambda-pool.js';
import { runPipelineLocally } from '../../functions/local/runner.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';
import { exampleSpec, partitionsOf, tableFingerprint } from '../support/pipelines.js';

/**
 * The example pipeline end to end through statemachines/pipeline.asl.json, on the real PostgreSQL and on
 * PGlite: what a user sees after `npm start`, a rerun, a full refresh, and a run that fails its checks.
 */
describe.each(warehouseTargets)('orders pipeline end to end on $name', (target) => {
  let db: TestWarehouse;
  const { dir, specFile } = exampleSpec();
  const home = join(dir, '.sluice');

  beforeAll(async () => {
    db = await target.open();
  });
  afterAll(() => db.dispose());

  it('loads the sample data: counts add up, one partition per month, bad rows quarantined with reasons', async () => {
    const result = await runPipelineLocally({ specFile, home, warehouse: db.wh });

    expect(result.error).toBeUndefined();
    expect(result.status).toBe('succeeded');
    const s = result.summary!;
    expect(s.read).toBe(4806);
    expect(s.read).toBe(s.loaded + s.rejected + s.filtered);
    expect(s.rejected).toBe(17);
    expect(s.filteredByRule).toBe(54);
    expect(s.deduplicated).toBe(6);
    expect(s.chunks).toBe(16);
    const table = await db.wh.query<{ n: number }>('SELECT count(*)::int AS n FROM analytics.orders');
    expect(table.rows[0]!.n).toBe(s.loaded);
    expect(await partitionsOf(db.wh, 'analytics', 'orders')).toEqual([
      'orders_default',
      'orders_p202601',
      'orders_p202602',
      'orders_p202603',
      'orders_p202604',
      'orders_p202605',
      'orders_p202606',
    ]);
    const stray = await db.wh.query<{ n: number }>('SELECT count(*)::int AS n FROM analytics.orders_default');
    expect(stray.rows[0]!.n).toBe(0);

    const rejectsDir = join(home, 'staging', 'runs', s.runId, 'rejects');
    const rejects = readdirSync(rejectsDir)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(rejectsDir, f), 'utf8').split('\n').filter(Boolean))
      .map((l) => JSON.parse(l) as { location: string; column?: string; reason: string });
    expect(rejects).toHaveLength(s.rejected);
    expect(rejects).toContainEqual(
      expect.objectContaining({
        column: 'quantity',
        reason: 'cannot cast "two" to integer',
        location: expect.stringMatching(/^orders-2026-01\.csv:\d+$/),
      }),
    );
    expect(rejects).toContainEqual(
      expect.objectContaining({
        column: 'ordered_at',
        location: expect.stringMatching(/^orders-2026-02\.csv:/),
      }),
    );
    expect(s.topRejectReasons[0]).toEqual({
      reason: 'order_id: column "order_id" is required (nullable: false) but the value is empty',
      count: 6,
    });
  });

  it('keeps the later export of an order (upsert) and drops test orders (filter)', async () => {
    const refunded = await db.wh.query<{ status: string; note: string | null }>(
      "SELECT status, note FROM analytics.orders WHERE order_id = 100004 AND order_date = '2026-01-17'",
    );
    expect(refunded.rows).toEqual([{ status: 'refunded', note: '' }]);
    const tests = await db.wh.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM analytics.orders WHERE status = 'test'",
    );
    expect(tests.rows[0]!.n).toBe(0);
    const multiline = await db.wh.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM analytics.orders WHERE note LIKE '%reception\nbuilding B%'",
    );
    expect(multiline.rows[0]!.n).toBeGreaterThan(10);
  });

  it('loads nothing new and creates no duplicate when run again', async () => {
    const before = await tableFingerprint(db.wh, 'analytics.orders', 'order_id, order_date');

    const again = await runPipelineLocally({ specFile, home, warehouse: db.wh });

    expect(again.status).toBe('succeeded');
    expect(again.summary).toMatchObject({ read: 0, loaded: 0, chunks: 0, skippedSources: 6 });
    expect(await tableFingerprint(db.wh, 'analytics.orders', 'order_id, order_date')).toEqual(before);
  });

  it('rebuilds the same table on --full-refresh', async () => {
    const before = await tableFingerprint(db.wh, 'analytics.orders', 'order_id, order_date');

    const refresh = await runPipelineLocally({ specFile, home, warehouse: db.wh, fullRefresh: true });

    expect(refresh.status).toBe('succeeded');
    expect(refresh.summary).toMatchObject({ read: 4806, skippedSources: 0 });
    expect(await tableFingerprint(db.wh, 'analytics.orders', 'order_id, order_date')).toEqual(before);
  });

  it.runIf(target.name === 'pg')(
    'gives the same table with chunks in worker threads (--threads), progress reported per chunk',
    async () => {
      const before = await tableFingerprint(db.wh, 'analytics.orders', 'order_id, order_date');
      const chunks: string[] = [];
      const threaded = await runPipelineLocally({
        specFile,
        home,
        databaseUrl: db.url!,
        lambdaWorker: 'thread',
        fullRefresh: true,
        onEvent: (e) => {
          if (e.type === 'chunk') chunks.push(e.chunkId);
        },
      });

      expect(threaded.status).toBe('succeeded');
      expect(threaded.summary).toMatchObject({ read: 4806, loaded: 4729, rejected: 17, chunks: 16 });
      expect(new Set(chunks).size).toBe(16);
      expect(await tableFingerprint(db.wh, 'analytics.orders', 'order_id, order_date')).toEqual(before);
    },
  );

  it.runIf(target.name === 'pg')(
    "passes a chunk worker thread's failure back with its name and message",
    async () => {
      const pool = new LambdaPool({ databaseUrl: db.url!, home }, () => {});
      try {
        const bad = await pool.run({ Items: [], BatchInput: { runId: 'not-a-uuid' } }).catch((e: Error) => e);
        expect(bad).toBeInstanceOf(Error);
        expect((bad as Error).name).toBe('ZodError');
        expect((bad as Error).message).toMatch(/Items|runId/);
      } finally {
        await pool.close();
      }
    },
  );

  it('fails a run above the reject threshold and leaves the table exactly as it was', async () => {
    const before = await tableFingerprint(db.wh, 'analytics.orders', 'order_id, order_date');
    const strict = exampleSpec([['maxRejectRatio: 0.01', 'maxRejectRatio: 0.001']]);

    const failed = await runPipelineLocally({
      specFile: strict.specFile,
      home,
      warehouse: db.wh,
      fullRefresh: true,
    });

    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/reject/i);
    expect(failed.error).toMatch(/17/);
    expect(await tableFingerprint(db.wh, 'analytics.orders', 'order_id, order_date')).toEqual(before);
    const runs = await db.wh.query<{ status: string }>(
      "SELECT status FROM sluice.runs WHERE pipeline = 'orders' ORDER BY started_at DESC LIMIT 1",
    );
    expect(runs.rows[0]!.status).toBe('failed');
  });

  it('fails with a clear message when the source folder does not exist, and nothing is loaded', async () => {
    const missing = exampleSpec([['location: data/orders', 'location: data/nonexistent']]);

    const failed = await runPipelineLocally({ specFile: missing.specFile, home, warehouse: db.wh });

    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('no files in data/nonexistent');
  });
});
