import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import { PgliteWarehouse } from '../../../functions/adapters/warehouse/pglite.js';
import parquetSource from '../../../functions/connectors/parquet/connector.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import { checkSourceContract } from '../../../functions/sdk/contract.js';
import { specFromFixture } from './databases.js';
import { writeEventsParquet } from './parquet-files.js';

describe('parquet source over a folder of files', () => {
  const data = mkdtempSync(join(tmpdir(), 'sluice-parquet-'));
  const home = mkdtempSync(join(tmpdir(), 'sluice-home-'));
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  let wh: PgliteWarehouse;
  let specFile: string;
  // The data folder is not under the spec's folder: allowed as SLUICE_ALLOWED_ROOTS would.
  const run = () => runPipelineLocally({ specFile, home, warehouse: wh, logger, allowedRoots: [data] });
  const count = async (sql: string) => Number((await wh.query<{ n: string }>(sql)).rows[0]!.n);

  beforeAll(async () => {
    writeEventsParquet(data, 1, 1, 2500, 1000);
    wh = await PgliteWarehouse.open();
    specFile = specFromFixture('parquet-events.yaml', { DATA_DIR: data });
  });
  afterAll(() => wh?.close());

  it('loads the row groups of a file as one chunk when they fit targetBytes, every row once, with its types', async () => {
    const result = await run();

    expect(result.error).toBeUndefined();
    // Three row groups of 1000, 1000 and 500 rows, far under the default 32 MiB: one chunk reads them in turn.
    expect(result.summary?.chunks).toBe(1);
    expect(result.summary?.loaded).toBe(2500);
    expect(await count('SELECT count(DISTINCT id) AS n FROM analytics.parquet_events')).toBe(2500);
    const row = await wh.query(
      `SELECT id::text, at::text, day::text, kind, score FROM analytics.parquet_events WHERE id = 61`,
    );
    expect(row.rows).toEqual([
      { id: '61', at: '2026-01-01 01:01:00+00', day: '2026-01-01', kind: 'click', score: 15.25 },
    ]);
  });

  it('loads only the new file on the next run', async () => {
    writeEventsParquet(data, 2, 2501, 700, 1000);

    const result = await run();

    expect(result.error).toBeUndefined();
    expect(result.summary?.loaded).toBe(700);
    expect(result.summary?.skippedSources).toBe(1);
    expect(await count('SELECT count(*) AS n FROM analytics.parquet_events')).toBe(3200);
  });

  it('fails naming the source and the file when a file is not Parquet', async () => {
    writeFileSync(join(data, 'events-3.parquet'), 'id,at\n1,2026-01-01\n');

    const result = await run();

    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/source parquet: .*events-3\.parquet is not a readable Parquet file/);
    expect(await count('SELECT count(*) AS n FROM analytics.parquet_events')).toBe(3200);
  });

  it('fails when the files of a run have different columns, naming the file and the columns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-parquet-differ-'));
    writeEventsParquet(dir, 1, 1, 10, 10);
    const wider = parquetWriteBuffer({
      columnData: [
        { name: 'id', data: [11n], type: 'INT64', nullable: false },
        { name: 'coupon', data: ['SPRING'], type: 'STRING' },
      ],
    });
    writeFileSync(join(dir, 'events-2.parquet'), new Uint8Array(wider));
    const config = parquetSource.configSchema.parse({ location: dir });

    const planning = parquetSource.plan({
      config,
      openStorage: (location) => new FolderStorage(location),
      credential: (async () => '') as Parameters<typeof parquetSource.plan>[0]['credential'],
      targetBytes: 1 << 20,
      parallelism: 1,
      alreadyLoaded: () => false,
    });

    await expect(planning).rejects.toThrow(
      'source parquet: events-2.parquet: its columns differ from events-1.parquet\'s: it has "coupon" that events-1.parquet has not and lacks "at", "day", "kind", "score"',
    );
  });

  it('keeps the connector contract', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-parquet-contract-'));
    writeEventsParquet(dir, 1, 1, 300, 100);
    writeEventsParquet(dir, 2, 301, 50, 100);

    const findings = await checkSourceContract({
      connector: parquetSource,
      config: { location: dir },
      identity: (r) => String(r.id),
      expectedRows: 350,
    });

    expect(findings).toEqual([]);
  });
});
