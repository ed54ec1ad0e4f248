import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipelineLocally } from '../../functions/local/runner.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';
import { exampleSpec } from '../support/pipelines.js';

/**
 * What a run leaves in staging: its manifests, item lists, map results, rejects and summary, and no copy of
 * its rows (the chunks COPY them into the staging table only; nothing read a staged file, so none is
 * written: a chunk a crash emptied out of the staging table is made again from its source).
 */
describe.each(warehouseTargets)('the files a run writes to staging, on $name', (target) => {
  let db: TestWarehouse;
  const { dir, specFile } = exampleSpec();
  const home = join(dir, '.sluice');

  beforeAll(async () => {
    db = await target.open();
  });
  afterAll(() => db.dispose());

  it('are the manifests, item lists, map results, rejects and summary: no staged copy of the rows', async () => {
    const result = await runPipelineLocally({ specFile, home, warehouse: db.wh });
    expect(result.status).toBe('succeeded');
    const s = result.summary!;
    expect(s.chunks).toBe(16);
    const runDir = join(home, 'staging', 'runs', s.runId);
    const entries = readdirSync(runDir, { recursive: true, encoding: 'utf8' }).sort();
    expect(entries.filter((e) => !e.includes('/'))).toEqual([
      'items-fargate.json',
      'items-lambda.json',
      'manifest.json',
      'map-results', // the local Distributed Map's results (ResultWriter)
      'rejects',
      'spec.json',
      'summary.json',
    ]);
    // Every chunk's rejects and reasons, and nothing else under rejects/.
    const rejects = entries.filter((e) => e.startsWith('rejects/'));
    expect(rejects).toHaveLength(2 * s.chunks);
    expect(rejects.every((e) => /^rejects\/[^/]+\.(jsonl|reasons\.json)$/.test(e))).toBe(true);
    expect(entries.some((e) => e.endsWith('.csv'))).toBe(false);
  });
});
