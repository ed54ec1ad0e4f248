/**
 * `npm run bench -- --only parquet --rows 3e6`: the bench's orders as one Parquet file, written by an
 * independent writer (DuckDB: decimals, dates, timestamps, strings, nulls; row groups of
 * `--row-group-rows`, DuckDB's default 122,880), loaded by Sluice end to end under GNU time: wall,
 * rows/s and peak RSS of the whole process (issue 15: ≤ 300 MB on 3M rows; 10M within 1.1× of 1M).
 *
 *   npx tsx bench/parquet.ts --rows 3e6 [--repeats 1] [--row-group-rows 122880] [--chunk-bytes 32MiB]
 *                            [--node-flags "--max-old-space-size=160"]
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { runChild } from '../functions/local/child-process.js';
import { BENCH_COLUMNS, BENCH_KEY, BENCH_REQUIRED, generateBenchData } from './generate.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(BENCH_DIR, '..');
const TIME_BIN = '/usr/bin/time';
const DEFAULT_ROW_GROUP_ROWS = 122_880;

export interface ParquetBenchOptions {
  rows: number[];
  repeats: number;
  chunkBytes: string;
  concurrency: number;
  databaseUrl: string;
  dataDir: string;
  rowGroupRows?: number;
  /** Flags for the Sluice process's node (e.g. `--max-old-space-size=160`, `--trace-gc`). */
  nodeFlags?: string[];
  quiet?: boolean;
}

export interface ParquetMeasurement {
  tool: 'sluice-parquet';
  rows: number;
  rowGroupRows: number;
  fileBytes: number;
  loaded: number;
  chunks: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssMb: number;
  phases?: { prepare: number; chunks: number; commit: number };
}

/**
 * `<dataDir>/parquet-<rows>-<rowGroupRows>/orders.parquet`: the clean orders of the CSV bench (same
 * seed) typed as the table is, written by DuckDB. Reused when it exists.
 */
export async function writeBenchParquet(
  dataDir: string,
  rows: number,
  rowGroupRows = DEFAULT_ROW_GROUP_ROWS,
): Promise<{ file: string; rows: number; bytes: number }> {
  const file = join(dataDir, `parquet-${rows}-${rowGroupRows}`, 'orders.parquet');
  const metaFile = `${file}.json`;
  if (existsSync(file) && existsSync(metaFile))
    return JSON.parse(readFileSync(metaFile, 'utf8')) as { file: string; rows: number; bytes: number };
  const csv = generateBenchData(join(dataDir, `rows-${rows}`), rows);
  mkdirSync(dirname(file), { recursive: true });
  const types = Object.entries(BENCH_COLUMNS)
    .map(([name, type]) => `'${name}': '${type === 'varchar(2)' ? 'VARCHAR' : type.toUpperCase()}'`)
    .join(', ');
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    // Decimal(12,2) as the table has it; empty strings (a missing email, no note) as NULL.
    await duck.run(
      `COPY (SELECT * FROM read_csv('${csv.cleanFile}', header = true, columns = {${types}}, nullstr = '', quote = '"'))
       TO '${file}.tmp' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${rowGroupRows})`,
    );
  } finally {
    duck.closeSync();
  }
  renameSync(`${file}.tmp`, file);
  const meta = { file, rows: csv.goodRows, bytes: statSync(file).size };
  writeFileSync(metaFile, JSON.stringify(meta));
  return meta;
}

/** Loads the Parquet file `repeats` times per row count; one line per run, and the runs. */
export async function runParquetBench(options: ParquetBenchOptions): Promise<ParquetMeasurement[]> {
  const log = (line: string) => {
    if (!options.quiet) process.stdout.write(`${line}\n`);
  };
  const db = new pg.Client({ connectionString: options.databaseUrl });
  await db.connect();
  const runs: ParquetMeasurement[] = [];
  try {
    await db.query('CREATE SCHEMA IF NOT EXISTS bench');
    for (const rows of options.rows) {
      const rowGroupRows = options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
      const data = await writeBenchParquet(options.dataDir, rows, rowGroupRows);
      log(
        `\n== parquet: ${data.rows.toLocaleString('en-US')} rows, ${(data.bytes / 1e6).toFixed(0)} MB, row groups of ${rowGroupRows.toLocaleString('en-US')} rows`,
      );
      for (let r = 0; r < options.repeats; r++) {
        const m = await loadParquet(db, options, data, rowGroupRows);
        runs.push(m);
        log(`  ${formatParquet(m)}`);
      }
    }
  } finally {
    await db.end();
  }
  return runs;
}

async function loadParquet(
  db: pg.Client,
  options: ParquetBenchOptions,
  data: { file: string; rows: number; bytes: number },
  rowGroupRows: number,
): Promise<ParquetMeasurement> {
  const table = 'orders_parquet';
  const specFile = join(dirname(data.file), 'bench-parquet.yaml');
  const columns = Object.entries(BENCH_COLUMNS)
    .map(([n, t]) => `    ${n}: { type: "${t}"${BENCH_REQUIRED.includes(n) ? ', nullable: false' : ''} }`)
    .join('\n');
  writeFileSync(
    specFile,
    `name: bench-parquet
source:
  connector: parquet
  config:
    location: ${JSON.stringify(dirname(data.file))}
    pattern: "orders.parquet"
chunking:
  targetBytes: ${options.chunkBytes}
destination:
  schema: bench
  table: ${table}
  mode: append
  columns:
${columns}
  key: [${BENCH_KEY.join(', ')}]
  partitioning: { column: order_date, by: month }
runtime:
  compute: lambda
  concurrency: ${options.concurrency}
`,
  );
  await db.query(`DROP TABLE IF EXISTS bench.${table} CASCADE`);
  const home = join(dirname(data.file), '.sluice');
  rmSync(join(home, 'staging', 'runs'), { recursive: true, force: true });
  await db.query('CHECKPOINT');
  const child = JSON.stringify({
    specFile,
    home,
    databaseUrl: options.databaseUrl,
    concurrency: options.concurrency,
  });
  const rssFile = join(dirname(data.file), `.rss-${process.pid}`);
  const started = performance.now();
  const run = await runChild(
    TIME_BIN,
    [
      '-f',
      '%M',
      '-o',
      rssFile,
      process.execPath,
      ...(options.nodeFlags ?? []),
      '--import',
      'tsx',
      join(BENCH_DIR, 'sluice-child.ts'),
      child,
    ],
    { cwd: REPO, stderrTailChars: 8000 },
  );
  const seconds = (performance.now() - started) / 1000;
  if (run.code !== 0) throw new Error(`sluice parquet run exited with ${run.code}: ${run.stderrTail.trim()}`);
  const peakRssMb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1)) / 1024;
  rmSync(rssFile, { force: true });
  const report = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as {
    status: string;
    error?: string;
    chunks: number;
    summary?: { loaded: number };
    phases?: ParquetMeasurement['phases'];
  };
  if (report.status !== 'succeeded') throw new Error(`sluice parquet run failed: ${report.error}`);
  const loaded = Number(
    (await db.query<{ n: string }>(`SELECT count(*) AS n FROM bench.${table}`)).rows[0]!.n,
  );
  if (loaded !== data.rows || report.summary?.loaded !== loaded)
    throw new Error(
      `sluice loaded ${loaded} rows of the Parquet file (summary ${report.summary?.loaded}), expected ${data.rows}`,
    );
  rmSync(join(home, 'staging', 'runs'), { recursive: true, force: true });
  return {
    tool: 'sluice-parquet',
    rows: data.rows,
    rowGroupRows,
    fileBytes: data.bytes,
    loaded,
    chunks: report.chunks,
    seconds,
    rowsPerSecond: loaded / seconds,
    peakRssMb,
    ...(report.phases ? { phases: report.phases } : {}),
  };
}

export function formatParquet(m: ParquetMeasurement): string {
  const phases = m.phases
    ? `  (${m.chunks} chunks; prepare ${m.phases.prepare.toFixed(1)} s, chunks ${m.phases.chunks.toFixed(1)} s, commit ${m.phases.commit.toFixed(1)} s)`
    : '';
  return `sluice-parquet ${m.seconds.toFixed(2).padStart(7)} s ${Math.round(m.rowsPerSecond).toLocaleString('en-US').padStart(10)} rows/s  peak RSS ${m.peakRssMb.toFixed(0).padStart(4)} MB${phases}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? undefined : argv[i + 1];
  };
  await runParquetBench({
    rows: (get('rows') ?? '3e6').split(',').map((s) => Math.round(Number(s))),
    repeats: Math.round(Number(get('repeats') ?? '1')),
    chunkBytes: get('chunk-bytes') ?? '32MiB',
    concurrency: Math.round(Number(get('concurrency') ?? '2')),
    databaseUrl: get('database-url') ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    dataDir: resolve(get('data-dir') ?? join(BENCH_DIR, 'data')),
    ...(get('row-group-rows') ? { rowGroupRows: Math.round(Number(get('row-group-rows'))) } : {}),
    ...(get('node-flags') ? { nodeFlags: get('node-flags')!.split(' ').filter(Boolean) } : {}),
  });
}
