import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import { PgliteWarehouse } from '../../../functions/adapters/warehouse/pglite.js';
import parquetSource from '../../../functions/connectors/parquet/connector.js';
import { readParquetChunk } from '../../../functions/connectors/parquet/read.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import type { SourceRecord } from '../../../functions/sdk/index.js';

const ROWS = 60_000;
const logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Issue 15: a chunk is a run of whole row groups bounded by chunking.targetBytes, read a row group at a
 * time. A file DuckDB writes with several row groups loads in several chunks, some of several row
 * groups, and the table matches DuckDB's own reading of the file: counts, nulls, and sums of every
 * column (decimals to the last digit, dates, timestamps to the microsecond, strings by digest).
 */
describe('parquet source: chunks of whole row groups', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-parquet-groups-'));
  const data = join(dir, 'data');
  const file = join(data, 'orders.parquet');
  let wh: PgliteWarehouse;
  let duck: Awaited<ReturnType<DuckDBInstance['connect']>>;
  let groups: number;

  beforeAll(async () => {
    mkdirSync(data);
    duck = await (await DuckDBInstance.create(':memory:')).connect();
    await duck.run(
      `COPY (
         SELECT i AS id,
                CASE WHEN i % 7 = 0 THEN NULL
                     ELSE (((i * 982451653 * 1009) % 10000000000000000)::DECIMAL(20,0) * 0.0001)::DECIMAL(20,4) END AS price,
                DATE '2023-01-01' + (i % 700)::INTEGER AS day,
                TIMESTAMP '2023-01-01 00:00:00' + to_microseconds(i * 86400123457 // 97) AS ordered_at,
                CASE WHEN i % 11 = 0 THEN NULL ELSE 'customer' || (i * 31 % 5000) || '@example.com' END AS email
         FROM range(1, ${ROWS + 1}) t(i)
       ) TO '${file}' (FORMAT parquet, ROW_GROUP_SIZE 4096)`,
    );
    groups = Number(
      (
        await duck.runAndReadAll(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${file}')`)
      ).getRowObjectsJson()[0]!.n,
    );
    writeFileSync(
      join(dir, 'orders.yaml'),
      `name: parquet-groups
source:
  connector: parquet
  config:
    location: ${JSON.stringify(data)}
    pattern: "*.parquet"
chunking:
  targetBytes: 1MiB
runtime:
  compute: lambda
destination:
  schema: analytics
  table: parquet_groups
  schemaEvolution: freeze
  columns:
    id: { type: bigint, nullable: false }
    price: numeric(20,4)
    day: date
    ordered_at: timestamp
    email: text
`,
    );
    wh = await PgliteWarehouse.open();
  });
  afterAll(async () => {
    duck?.closeSync();
    await wh?.close();
  });

  it('plans runs of whole row groups within targetBytes, every row in exactly one chunk', async () => {
    const storage = new FolderStorage(data);
    const plan = await parquetSource.plan({
      config: { location: data, pattern: '*.parquet' },
      openStorage: () => storage,
      credential: (() => Promise.reject(new Error('no credentials'))) as never,
      targetBytes: 1024 * 1024,
      parallelism: 2,
      alreadyLoaded: () => false,
    });
    const sources = plan.chunks.map((c) => c.source as Record<string, number>);
    expect(groups).toBeGreaterThan(8);
    expect(sources.length).toBeGreaterThan(1);
    expect(sources.length).toBeLessThan(groups);
    expect(sources[0]!.rowGroupStart).toBe(0);
    expect(sources.at(-1)!.rowGroupEnd).toBe(groups);
    expect(sources.at(-1)!.rowEnd).toBe(ROWS);
    for (const [i, s] of sources.entries()) {
      if (i > 0) expect(s.rowGroupStart).toBe(sources[i - 1]!.rowGroupEnd);
      if (i > 0) expect(s.rowStart).toBe(sources[i - 1]!.rowEnd);
      expect(plan.chunks[i]!.bytes).toBeLessThanOrEqual(1024 * 1024);
    }
  });

  it('loads the file in several chunks; the table matches DuckDB reading the file', async () => {
    const result = await runPipelineLocally({
      specFile: join(dir, 'orders.yaml'),
      home: join(dir, '.sluice'),
      warehouse: wh,
      logger,
      allowedRoots: [data],
    });

    expect(result.error).toBeUndefined();
    expect(result.summary?.chunks).toBeGreaterThan(1);
    expect(result.summary?.chunks).toBeLessThan(groups);
    expect(result.summary?.loaded).toBe(ROWS);
    const [duckSums] = (
      await duck.runAndReadAll(
        `SELECT count(*)::VARCHAR AS rows, count(DISTINCT id)::VARCHAR AS ids, sum(id)::VARCHAR AS id_sum,
                count(price)::VARCHAR AS prices, sum(price)::VARCHAR AS price_sum,
                sum(day - DATE '1970-01-01')::VARCHAR AS day_sum,
                sum(epoch_us(ordered_at))::VARCHAR AS at_sum,
                count(email)::VARCHAR AS emails,
                md5(string_agg(coalesce(email, '-'), ',' ORDER BY id)) AS email_digest
         FROM read_parquet('${file}')`,
      )
    ).getRowObjectsJson();
    const ours = await wh.query(
      `SELECT count(*)::text AS rows, count(DISTINCT id)::text AS ids, sum(id)::text AS id_sum,
              count(price)::text AS prices, sum(price)::text AS price_sum,
              sum(day - DATE '1970-01-01')::text AS day_sum,
              sum((extract(epoch FROM ordered_at) * 1000000)::bigint)::text AS at_sum,
              count(email)::text AS emails,
              md5(string_agg(coalesce(email, '-'), ',' ORDER BY id)) AS email_digest
       FROM analytics.parquet_groups`,
    );
    expect(ours.rows[0]).toEqual(duckSums);
  });
});

/**
 * A row group over the slice size whose columns have an offset index (hyparquet-writer writes one, in
 * small pages here) is read in slices of rows, each decoding only its pages: the same rows, in order,
 * as reading the group whole.
 */
describe('parquet source: a large row group with page locations, in slices', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-parquet-slices-'));
  const rows = 20_000;
  const ids = Array.from({ length: rows }, (_, i) => BigInt(i + 1));
  const bytes = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: ids, type: 'INT64', nullable: false },
      {
        name: 'at',
        data: ids.map((id) => new Date(Date.UTC(2026, 0, 1) + Number(id) * 1001)),
        type: 'TIMESTAMP',
      },
      { name: 'note', data: ids.map((id) => (id % 5n === 0n ? null : `note ${id}`)), type: 'STRING' },
    ],
    rowGroupSize: rows,
    pageSize: 4096,
  });
  writeFileSync(join(dir, 'one-group.parquet'), new Uint8Array(bytes));

  const read = async (sliceBytes: number) => {
    const storage = new FolderStorage(dir);
    let etag = '';
    for await (const info of storage.list('')) etag = info.etag;
    const source = {
      key: 'one-group.parquet',
      etag,
      size: bytes.byteLength,
      rowGroupStart: 0,
      rowGroupEnd: 1,
      rowStart: 0,
      rowEnd: rows,
    };
    const out: SourceRecord[] = [];
    for await (const batch of readParquetChunk(storage, source, undefined, sliceBytes)) out.push(...batch);
    return out;
  };

  it('has one row group of many pages with an offset index', () => {
    const metadata = parquetMetadata(bytes);
    expect(metadata.row_groups).toHaveLength(1);
    for (const chunk of metadata.row_groups[0]!.columns) expect(chunk.offset_index_length).toBeGreaterThan(0);
  });

  it('reads the same rows in slices as whole', async () => {
    const whole = await read(Number.POSITIVE_INFINITY);
    const sliced = await read(16 * 1024);
    expect(whole).toHaveLength(rows);
    expect(sliced).toEqual(whole);
    expect(sliced[4]).toEqual({
      kind: 'row',
      row: { id: '5', at: '2026-01-01 00:00:05.005', note: null },
      location: 'one-group.parquet row 5',
    });
  });
});
