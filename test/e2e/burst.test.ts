import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executionNameFor } from '../../functions/handlers/start-run.js';
import { runPipelineLocally } from '../../functions/local/runner.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';
import { exampleSpec } from '../support/pipelines.js';

/**
 * A burst: six files land together, the S3 rule starts six runs at once (one per object, named as the
 * starter names them), all through statemachines/pipeline.asl.json. The runs that find the pipeline
 * locked wait (Prepare retries PipelineLockedError) instead of failing: every file is loaded once, every
 * execution succeeds, no run is left abandoned or failed in the ledger (docs/deploy.md, "Bursts of uploads").
 */
describe.each(warehouseTargets)('a burst of uploads on $name', (target) => {
  let db: TestWarehouse;
  beforeAll(async () => {
    db = await target.open();
  });
  afterAll(() => db.dispose());

  it('six objects at once: six runs, each file loaded once, no failed execution', async () => {
    const { dir, specFile } = exampleSpec();
    const landing = join(dir, 'data', 'orders');
    // The folder starts empty; then the six uploads arrive together.
    rmSync(landing, { recursive: true });
    mkdirSync(landing);
    const files = readdirSync(resolve('pipelines/data/orders'));
    for (const f of files) cpSync(resolve('pipelines/data/orders', f), join(landing, f));
    expect(files).toHaveLength(6);

    const results = await Promise.all(
      files.map((key, i) => {
        const trigger = {
          type: 's3',
          bucket: 'sluice-landing',
          key: `data/orders/${key}`,
          etag: `etag-${i}`,
        };
        return runPipelineLocally({
          specFile,
          home: join(dir, '.sluice'),
          warehouse: db.wh,
          input: { trigger },
          executionName: executionNameFor(trigger),
          // A waiting run retries every 4 s locally (20 s and more in AWS): room for the run that loads.
          lockRetryMs: 4000,
        });
      }),
    );

    expect(results.map((r) => r.error ?? r.status)).toEqual(files.map(() => 'succeeded'));
    const summaries = results.map((r) => r.summary!);
    // Every row read once, by whichever run held the lock first; the others found nothing new.
    expect(summaries.reduce((n, s) => n + s.read, 0)).toBe(4806);
    expect(summaries.filter((s) => s.read > 0)).toHaveLength(1);
    const table = await db.wh.query<{ n: number; keys: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT order_id)::int AS keys FROM analytics.orders',
    );
    expect(table.rows[0]!.n).toBe(summaries.reduce((n, s) => n + s.loaded, 0));
    const bookmarks = await db.wh.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sluice.file_bookmarks WHERE pipeline = 'orders'`,
    );
    expect(bookmarks.rows[0]!.n).toBe(6);
    const runs = await db.wh.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM sluice.runs WHERE pipeline = 'orders' GROUP BY status`,
    );
    expect(runs.rows).toEqual([{ status: 'succeeded', n: 6 }]);
  }, 300_000);
});
