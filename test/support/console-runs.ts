import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Warehouse } from '../../functions/engine/ports/warehouse.js';
import { runPipelineLocally } from '../../functions/local/runner.js';
import { exampleSpec } from './pipelines.js';

export interface ConsoleRuns {
  dir: string;
  home: string;
  succeeded: string;
  failed: string;
}

/**
 * Two real runs of the example pipeline for the console's tests: one that succeeds with the sample data
 * plus a file whose bad row holds HTML (test/fixtures/console/orders-2026-07.csv), then a full refresh
 * under a stricter reject threshold that fails. Runs on `warehouse`, or on `databaseUrl`, or on the
 * PGlite in `<dir>/.sluice` (so a `sluice ui` started afterwards reads the same database).
 */
export async function seedConsoleRuns(
  target: { warehouse?: Warehouse; databaseUrl?: string } = {},
): Promise<ConsoleRuns> {
  const { dir, specFile } = exampleSpec();
  copyFileSync(
    resolve('test/fixtures/console/orders-2026-07.csv'),
    join(dir, 'data', 'orders', 'orders-2026-07.csv'),
  );
  const strictFile = join(dir, 'orders-strict.yaml');
  writeFileSync(
    strictFile,
    readFileSync(specFile, 'utf8').replace('maxRejectRatio: 0.01', 'maxRejectRatio: 0.001'),
  );
  const home = join(dir, '.sluice');
  const where = {
    home,
    ...(target.warehouse ? { warehouse: target.warehouse } : {}),
    ...(target.databaseUrl ? { databaseUrl: target.databaseUrl } : {}),
  };
  const ok = await runPipelineLocally({ specFile, ...where });
  if (ok.status !== 'succeeded' || !ok.summary) throw new Error(`the seeding run failed: ${ok.error}`);
  const bad = await runPipelineLocally({ specFile: strictFile, fullRefresh: true, ...where });
  if (bad.status !== 'failed' || !bad.runId)
    throw new Error('the strict run was expected to fail its threshold');
  return { dir, home, succeeded: ok.summary.runId, failed: bad.runId };
}
