import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../../../bin/cli/ui/server.js';
import { dataApiReadSql } from '../../../functions/adapters/rds-data/data-api-reader.js';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import {
  getRun,
  getRunDetail,
  listRuns,
  pipelineState,
  pipelinesOverview,
} from '../../../functions/engine/read-side/index.js';
import { listTargetTables, tablePartitions } from '../../../functions/engine/read-side/tables.js';
import { type ConsoleRuns, seedConsoleRuns } from '../../support/console-runs.js';
import { DataApiEmulator } from '../../support/data-api-emulator.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';

/**
 * The read side's statements as a deployed stage runs them: through the Data API adapter, each
 * ExecuteStatement executed by an emulator on the real PostgreSQL (typed named parameters, Field records).
 * Every answer must equal the one the same query gives over the warehouse directly.
 */
const pg = warehouseTargets.find((t) => t.name === 'pg');
if (!pg)
  console.warn(
    '[data-api] SKIPPING: needs the real PostgreSQL (see warehouse/targets.ts); with CI=true this fails instead.',
  );

describe.skipIf(!pg)('read side over the RDS Data API (emulated on PostgreSQL)', () => {
  let db: TestWarehouse;
  let runs: ConsoleRuns;
  let emulator: DataApiEmulator;
  const rds = mockClient(RDSDataClient);
  let sql: ReturnType<typeof dataApiReadSql>;

  beforeAll(async () => {
    db = await pg!.open();
    runs = await seedConsoleRuns({ warehouse: db.wh });
    emulator = new DataApiEmulator(db.url!);
    await emulator.connect();
    rds.on(ExecuteStatementCommand).callsFake((input) => emulator.execute(input));
    sql = dataApiReadSql({
      client: new RDSDataClient({ region: 'eu-west-1' }),
      resourceArn: 'arn:aws:rds:eu-west-1:111122223333:cluster:sluice-test',
      secretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:sluice/test/reader',
      database: 'sluice',
    });
  }, 120_000);
  afterAll(async () => {
    rds.restore();
    await emulator?.end();
    await db?.dispose();
  });

  it('lists runs and reads each run exactly as over the warehouse', async () => {
    expect(await listRuns(sql, { pipeline: 'orders' })).toEqual(
      await listRuns(db.wh, { pipeline: 'orders' }),
    );
    expect(await listRuns(sql, { status: 'failed' })).toEqual(await listRuns(db.wh, { status: 'failed' }));
    for (const id of [runs.succeeded, runs.failed]) {
      expect(await getRun(sql, id)).toEqual(await getRun(db.wh, id));
      expect(await getRunDetail(sql, id)).toEqual(await getRunDetail(db.wh, id));
    }
    expect((await getRun(sql, runs.succeeded))!.counts).toMatchObject({
      read: 4808,
      loaded: 4730,
      rejected: 18,
    });
    expect(emulator.statements.some((s) => /:p\d/.test(s))).toBe(true);
  });

  it("reads pipelines, a pipeline's state, tables and partitions exactly as over the warehouse", async () => {
    const strip = (o: Awaited<ReturnType<typeof pipelinesOverview>>) =>
      o.map(({ freshnessSeconds, ...rest }) => rest);
    expect(strip(await pipelinesOverview(sql))).toEqual(strip(await pipelinesOverview(db.wh)));
    expect(await pipelineState(sql, 'orders')).toEqual(await pipelineState(db.wh, 'orders'));
    expect(await listTargetTables(sql)).toEqual(await listTargetTables(db.wh));
    const ref = { schema: 'analytics', table: 'orders' };
    expect(await tablePartitions(sql, ref)).toEqual(await tablePartitions(db.wh, ref));
  });

  it('serves the console from the Data API: the run page shows the same counts', async () => {
    const app = createConsoleApp({ db: sql, staging: new FolderStorage(`${runs.home}/staging`) });
    const page = await (await app.request(`/runs/${runs.succeeded}`)).text();
    expect(page).toContain('data-count="loaded">4,730<');
    expect(page).toContain('data-adds-up="true"');
  });

  it('fails as AWS does when a uuid is compared with an untyped string (the adapter types it)', async () => {
    await expect(
      emulator.execute({
        resourceArn: 'arn:x',
        secretArn: 'arn:y',
        sql: 'SELECT 1 FROM sluice.runs WHERE run_id = :id',
        parameters: [{ name: 'id', value: { stringValue: runs.succeeded } }],
      }),
    ).rejects.toThrow(/operator does not exist: uuid = character varying/);
  });
});
