import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipelineLocally } from '../../functions/local/runner.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';
import { exampleSpec, tableFingerprint } from '../support/pipelines.js';

/**
 * Chunks routed to Fargate run the container's entry (container/entry.ts) — as a child process when the
 * warehouse is a PostgreSQL server, in process with PGlite (one process owns its files) — and load exactly
 * what the Lambda route loads.
 */
describe.each(warehouseTargets)('heavy chunks on the Fargate route, on $name', (target) => {
  let viaLambda: TestWarehouse;
  let viaFargate: TestWarehouse;

  beforeAll(async () => {
    viaLambda = await target.open();
    viaFargate = await target.open();
  });
  afterAll(async () => {
    await viaLambda.dispose();
    await viaFargate.dispose();
  });

  it('loads the same table as the Lambda route, with the same counts', async () => {
    const lambda = exampleSpec([['compute: auto', 'compute: lambda']]);
    const fargate = exampleSpec([
      ['compute: auto', 'compute: fargate'],
      ['targetBytes: 32KiB', 'targetBytes: 128KiB'],
    ]);
    const routes: string[] = [];

    const a = await runPipelineLocally({
      specFile: lambda.specFile,
      home: join(lambda.dir, '.sluice'),
      warehouse: viaLambda.wh,
    });
    const b = await runPipelineLocally({
      specFile: fargate.specFile,
      home: join(fargate.dir, '.sluice'),
      warehouse: viaFargate.wh,
      ...(viaFargate.url ? { databaseUrl: viaFargate.url } : {}),
      onEvent: (e) => {
        if (e.type === 'planned') routes.push(`lambda=${e.lambdaChunks} fargate=${e.fargateChunks}`);
      },
    });

    expect(b.error).toBeUndefined();
    expect(routes).toEqual(['lambda=0 fargate=6']);
    expect(b.summary).toMatchObject({
      read: a.summary!.read,
      loaded: a.summary!.loaded,
      rejected: a.summary!.rejected,
    });
    expect(await tableFingerprint(viaFargate.wh, 'analytics.orders', 'order_id, order_date')).toEqual(
      await tableFingerprint(viaLambda.wh, 'analytics.orders', 'order_id, order_date'),
    );
  }, 180_000);
});
