import { cpSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';
import { type LegacyRow, writeLegacyParquet } from './parquet-legacy.js';

const FIXTURES = resolve('test/fixtures/exact-values/parquet');
/** Every codec DuckDB writes; `lz4` is written as LZ4_RAW (Hadoop-framed LZ4 is in the legacy file). */
const CODECS = {
  uncompressed: 'UNCOMPRESSED',
  snappy: 'SNAPPY',
  gzip: 'GZIP',
  zstd: 'ZSTD',
  lz4: 'LZ4_RAW',
  lz4_raw: 'LZ4_RAW',
  brotli: 'BROTLI',
} as const;
const LEGACY_ROWS: LegacyRow[] = [
  { id: 1, nanos: 1_767_323_045_123_456_789n, unscaled: 12_345_678_901_234_567_891n },
  { id: 2, nanos: -1n, unscaled: -99_999_999_999_999_999_999_999_999_999_999_999_999n },
  { id: 3, nanos: 1_782_820_800_000_000_500n, unscaled: null },
  { id: 4, nanos: -4_102_444_800_000_000_000n, unscaled: 1n },
];
const logger = { debug() {}, info() {}, warn() {}, error() {} };

type Json = null | string | number | boolean | Json[] | { [key: string]: Json };
type Row = Record<string, Json>;

/**
 * Issue 12: Parquet values arrive exact. The files come from an independent writer, DuckDB
 * (@duckdb/node-api, written here at test time from test/fixtures/exact-values/parquet/values.sql: one
 * file per codec), plus one legacy file DuckDB cannot write (see parquet-legacy.ts). Each is loaded by
 * a real pipeline run, and the table must equal DuckDB's own reading of the same file, value by value:
 * decimals to the last of 38 digits, timestamps to the microsecond (nanoseconds rounded as PostgreSQL
 * rounds a 9-digit fraction), dates, nested values as jsonb.
 */
describe.each(warehouseTargets)('Parquet values exact on $name', (target) => {
  let db: TestWarehouse;
  let duck: Awaited<ReturnType<DuckDBInstance['connect']>>;
  let dir: string;
  const duckRows = async (sql: string) => (await duck.runAndReadAll(sql)).getRowObjectsJson() as Row[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-parquet-exact-'));
    cpSync(FIXTURES, dir, { recursive: true });
    mkdirSync(join(dir, 'data'));
    duck = await (await DuckDBInstance.create(':memory:')).connect();
    await duck.run(readFileSync(join(FIXTURES, 'values.sql'), 'utf8'));
    for (const codec of Object.keys(CODECS)) {
      const file = join(dir, 'data', `duckdb-${codec}.parquet`);
      await duck.run(
        `COPY (SELECT '${codec}' AS codec, * FROM exact_values) TO '${file}' (FORMAT parquet, COMPRESSION ${codec})`,
      );
    }
    writeLegacyParquet(join(dir, 'data', 'legacy-plain.parquet'), LEGACY_ROWS, 'UNCOMPRESSED');
    writeLegacyParquet(join(dir, 'data', 'legacy-lz4.parquet'), LEGACY_ROWS, 'LZ4');
    db = await target.open();
  });
  afterAll(async () => {
    duck?.closeSync();
    await db?.dispose();
  });

  /** What PostgreSQL makes of a timestamp text with 9 fraction digits (it rounds to microseconds). */
  const asPostgresTimestamp = async (text: Json) => {
    if (text === null) return null;
    const { rows } = await db.wh.query<{ t: string }>('SELECT $1::timestamp::text AS t', [text]);
    return rows[0]!.t;
  };

  it('loads every codec DuckDB writes, each value as DuckDB reads it', async () => {
    const result = await runPipelineLocally({
      specFile: join(dir, 'duckdb.yaml'),
      home: join(dir, '.sluice'),
      warehouse: db.wh,
      logger,
    });

    expect(result.error).toBeUndefined();
    expect(result.summary).toMatchObject({ read: 42, loaded: 42, rejected: 0 });
    const files = await duckRows(
      `SELECT DISTINCT regexp_extract(file_name, 'duckdb-(\\w+)', 1) AS codec, compression
         FROM parquet_metadata('${join(dir, 'data', 'duckdb-*.parquet')}') ORDER BY 1`,
    );
    expect(Object.fromEntries(files.map((f) => [f.codec, f.compression]))).toEqual(CODECS);
    const expected: Row[] = [];
    for (const row of await duckRows(
      `SELECT * FROM read_parquet('${join(dir, 'data', 'duckdb-*.parquet')}') ORDER BY codec, id`,
    )) {
      const prices = row.prices as { key: string; value: Json }[] | null;
      expected.push({
        ...row,
        ts_ns: await asPostgresTimestamp(row.ts_ns!),
        prices: prices && Object.fromEntries(prices.map((e) => [e.key, e.value])),
      });
    }
    const { rows } = await db.wh.query<Record<string, string | null>>(
      `SELECT codec, id, d4::text, d9::text, d18::text, d38::text, ts_ms::text, ts_us::text, ts_ns::text,
              (ts_tz AT TIME ZONE 'UTC')::text || '+00' AS ts_tz, day::text, nested::text, amounts::text,
              prices::text, note
         FROM exact.parquet_duckdb ORDER BY codec, id`,
    );
    const loaded = rows.map((r) => ({
      ...r,
      nested: r.nested && JSON.parse(r.nested),
      amounts: r.amounts && JSON.parse(r.amounts),
      prices: r.prices && JSON.parse(r.prices),
    }));
    expect(loaded).toEqual(expected);
  });

  it('loads INT96 timestamps, BYTE_ARRAY decimals and Hadoop-framed LZ4 as DuckDB reads them', async () => {
    const plain = join(dir, 'data', 'legacy-plain.parquet');
    const types = await duckRows(`SELECT name, type FROM parquet_schema('${plain}') WHERE name <> 'root'`);
    expect(types).toEqual([
      { name: 'codec', type: 'BYTE_ARRAY' },
      { name: 'id', type: 'INT32' },
      { name: 'at96', type: 'INT96' },
      { name: 'amount', type: 'BYTE_ARRAY' },
    ]);

    const result = await runPipelineLocally({
      specFile: join(dir, 'legacy.yaml'),
      home: join(dir, '.sluice-legacy'),
      warehouse: db.wh,
      logger,
    });

    expect(result.error).toBeUndefined();
    expect(result.summary).toMatchObject({ read: 8, loaded: 8, rejected: 0 });
    // DuckDB reads INT96 as microseconds, floored; PostgreSQL rounds a 9-digit fraction. So the file must
    // read as the written nanoseconds floored, and the table must hold them rounded as PostgreSQL does.
    const floorMicros = (n: bigint) => (n - (((n % 1000n) + 1000n) % 1000n)) / 1000n;
    const written = LEGACY_ROWS.map(
      (r) => `(${r.id}, make_timestamp_ns(${r.nanos}), make_timestamp(${floorMicros(r.nanos)}))`,
    ).join(', ');
    const read = await duckRows(
      `SELECT f.id, f.at96 = w.us AS floored, strftime(w.ns, '%Y-%m-%d %H:%M:%S.%n') AS nanos,
              f.amount::VARCHAR AS amount
         FROM read_parquet('${plain}') f JOIN (VALUES ${written}) w(id, ns, us) USING (id) ORDER BY id`,
    );
    expect(read.map((r) => r.floored)).toEqual([true, true, true, true]);
    const expected: Row[] = [];
    for (const { id, nanos, amount } of read) {
      expected.push({
        id: id ?? null,
        at96: await asPostgresTimestamp(nanos ?? null),
        amount: amount ?? null,
      });
    }
    for (const codec of ['LZ4', 'UNCOMPRESSED']) {
      const { rows } = await db.wh.query(
        'SELECT id, at96::text, amount::text FROM exact.parquet_legacy WHERE codec = $1 ORDER BY id',
        [codec],
      );
      expect(rows).toEqual(expected);
    }
    expect(expected.map((r) => r.at96)).toEqual([
      '2026-01-02 03:04:05.123457',
      '1970-01-01 00:00:00',
      '2026-06-30 12:00:00', // .000000500: 0.0000005 * 1e6 is 0.49999999999999994 in doubles, rint gives 0
      '1840-01-01 00:00:00',
    ]);
    expect(expected.map((r) => r.amount)).toEqual([
      '123456789012345678.91',
      '-999999999999999999999999999999999999.99',
      null,
      '0.01',
    ]);
  });
});
