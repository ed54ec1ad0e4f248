/**
 * `npm run bench`: loads the same generated orders into the same partitioned table three ways on the
 * real PostgreSQL — Sluice's local runner end to end (append and upsert), `psql \copy` of the clean
 * CSV, and pgloader — repeats each, and prints medians of rows/s, MB/s, peak RSS and the ratios.
 * Also: Lambda bundle sizes and cold import times, and scale-out over N concurrent chunk workers.
 *
 *   npm run bench -- --rows 1e6,1e7 --repeats 3 --only sluice,psql,pgloader,bundles,scale \
 *                    --modes append,upsert --workers 1,2,4,8 --concurrency 2
 *
 * pgloader comes from Debian: when it is missing the bench runs `apt-get install -y pgloader`, which
 * needs root (or pass --only without pgloader).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runChild } from '../functions/local/child-process.js';
import { type BundleResult, measureBundles } from './bundles.js';
import {
  BENCH_COLUMNS,
  BENCH_KEY,
  BENCH_REQUIRED,
  type GeneratedData,
  generateBenchData,
} from './generate.js';
import { type ParquetMeasurement, runParquetBench } from './parquet.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(BENCH_DIR, '..');
const TIME_BIN = '/usr/bin/time';

export interface BenchOptions {
  rows: number[];
  repeats: number;
  only: Set<string>;
  modes: ('append' | 'upsert')[];
  /** Scale-out: chunk workers for each run, on the largest row count. */
  workers: number[];
  /** Chunk workers for the Sluice-vs-psql-vs-pgloader comparison. */
  concurrency: number;
  chunkBytes: string;
  /** Also time each Sluice mode with chunks in worker threads (`sluice run --threads`); scale-out then uses threads. */
  threads: boolean;
  /** Where chunks run: in the runner's process (the Lambda twin) or one child process per batch (the Fargate twin). */
  compute: 'lambda' | 'fargate';
  databaseUrl: string;
  dataDir: string;
  resultsFile: string;
  quiet: boolean;
}

export interface Measurement {
  tool: string;
  rows: number;
  loaded: number;
  seconds: number;
  rowsPerSecond: number;
  mbPerSecond: number;
  peakRssMb: number;
  phases?: { prepare: number; chunks: number; commit: number };
}

export interface BenchResult {
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; postgres: string };
  date: string;
  command: string;
  options: Omit<BenchOptions, 'only'> & { only: string[] };
  comparisons: Comparison[];
  scaleOut: { rows: number; workers: number; median: Measurement }[];
  bundles: BundleResult[];
  parquet?: ParquetMeasurement[];
}

export interface Comparison {
  rows: number;
  medians: Record<string, Measurement>;
  ratios: Record<string, number>;
  runs: Measurement[];
}

export function parseBenchArgs(argv: string[]): BenchOptions {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? undefined : argv[i + 1];
  };
  const list = (name: string, fallback: string) =>
    (get(name) ?? fallback)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const numbers = (name: string, fallback: string) =>
    list(name, fallback).map((s) => {
      const n = Number(s);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: "${s}" is not a positive number`);
      return Math.round(n);
    });
  const modes = list('modes', 'append,upsert');
  for (const m of modes)
    if (m !== 'append' && m !== 'upsert') throw new Error(`--modes: "${m}" is not append or upsert`);
  return {
    rows: numbers('rows', '1e6,1e7'),
    repeats: numbers('repeats', '3')[0]!,
    only: new Set(list('only', 'sluice,psql,pgloader,bundles,scale')),
    modes: modes as ('append' | 'upsert')[],
    workers: numbers('workers', '1,2,4,8'),
    concurrency: numbers('concurrency', String(cpus().length))[0]!,
    chunkBytes: get('chunk-bytes') ?? '32MiB',
    compute: computeOption(get('compute') ?? 'lambda'),
    databaseUrl: get('database-url') ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    dataDir: resolve(get('data-dir') ?? join(BENCH_DIR, 'data')),
    resultsFile: resolve(
      get('out') ?? join(BENCH_DIR, 'results', `bench-${new Date().toISOString().replaceAll(':', '-')}.json`),
    ),
    quiet: argv.includes('--quiet'),
    threads: argv.includes('--threads'),
  };
}

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const log = (line: string) => {
    if (!options.quiet) process.stdout.write(`${line}\n`);
  };
  const db = new pg.Client({ connectionString: options.databaseUrl });
  await db.connect();
  const postgres = (await db.query<{ server_version: string }>('SHOW server_version')).rows[0]!
    .server_version;
  await db.query('CREATE SCHEMA IF NOT EXISTS bench');
  const result: BenchResult = {
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      postgres,
    },
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    options: { ...options, only: [...options.only] },
    comparisons: [],
    scaleOut: [],
    bundles: [],
  };
  try {
    if (options.only.has('pgloader')) ensurePgloader(log);
    for (const rows of options.rows) {
      const data = generateBenchData(join(options.dataDir, `rows-${rows}`), rows);
      log(`\n== ${rows.toLocaleString('en-US')} rows: ${mb(data.rawBytes)} MB raw, ${data.badRows} bad rows`);
      const tools: { name: string; run: () => Promise<Measurement> }[] = [];
      for (const mode of options.modes)
        if (options.only.has('sluice')) {
          tools.push({
            name: `sluice-${mode}`,
            run: () => runSluice(db, options, data, mode, options.concurrency),
          });
          if (options.threads)
            tools.push({
              name: `sluice-${mode}-threads`,
              run: () => runSluice(db, options, data, mode, options.concurrency, true),
            });
        }
      if (options.only.has('psql')) tools.push({ name: 'psql', run: () => runPsql(db, options, data) });
      if (options.only.has('pgloader'))
        tools.push({ name: 'pgloader', run: () => runPgloader(db, options, data) });
      if (tools.length === 0) continue;
      const runs: Measurement[] = [];
      for (let r = 0; r < options.repeats; r++) {
        for (const tool of tools) {
          const m = await tool.run();
          runs.push(m);
          log(`  ${formatMeasurement(m)}`);
        }
      }
      const medians: Record<string, Measurement> = {};
      for (const tool of tools) medians[tool.name] = medianOf(runs.filter((m) => m.tool === tool.name));
      const ratios: Record<string, number> = {};
      for (const [name, s] of Object.entries(medians)) {
        if (!name.startsWith('sluice-')) continue;
        for (const other of ['psql', 'pgloader']) {
          const o = medians[other];
          if (o) ratios[`${name}/${other}`] = s.rowsPerSecond / o.rowsPerSecond;
        }
      }
      result.comparisons.push({ rows, medians, ratios, runs });
      log(`  medians (${options.repeats} runs each):`);
      for (const m of Object.values(medians)) log(`    ${formatMeasurement(m)}`);
      for (const [name, ratio] of Object.entries(ratios)) log(`    ${name.padEnd(26)} ${ratio.toFixed(2)}×`);
    }
    // The orders as a Parquet file written by DuckDB, loaded by Sluice (issue 15): see bench/parquet.ts.
    if (options.only.has('parquet'))
      result.parquet = await runParquetBench({ ...options, quiet: options.quiet });
    if (options.only.has('scale')) {
      const rows = Math.max(...options.rows);
      const data = generateBenchData(join(options.dataDir, `rows-${rows}`), rows);
      log(
        `\n== scale-out: append, ${rows.toLocaleString('en-US')} rows${options.threads ? ', chunk workers in threads' : ''}`,
      );
      for (const workers of options.workers) {
        const runs: Measurement[] = [];
        for (let r = 0; r < options.repeats; r++)
          runs.push(await runSluice(db, options, data, 'append', workers, options.threads));
        const median = medianOf(runs);
        result.scaleOut.push({ rows, workers, median });
        log(`  N=${String(workers).padEnd(2)} ${formatMeasurement(median)}`);
      }
    }
    if (options.only.has('bundles')) {
      log('\n== Lambda bundles (production esbuild settings; cold import in a fresh node)');
      result.bundles = await measureBundles(join(dirname(options.resultsFile), 'bundles'));
      for (const b of result.bundles)
        log(
          `  ${bundleName(b).padEnd(26)} ${(b.bytes / 1024).toFixed(0).padStart(6)} KiB  init ${b.initMs.toFixed(0)} ms`,
        );
    }
  } finally {
    await db.end();
  }
  mkdirSync(dirname(options.resultsFile), { recursive: true });
  writeFileSync(options.resultsFile, `${JSON.stringify(result, null, 2)}\n`);
  log(`\nresults: ${options.resultsFile}`);
  if (!options.quiet) process.stdout.write(`\n${markdownTable(result)}\n`);
  return result;
}

// ---------------------------------------------------------------------------------------------------
// The three loaders

const COLUMN_NAMES = Object.keys(BENCH_COLUMNS);

async function createTargetTable(db: pg.Client, table: string): Promise<void> {
  const cols = Object.entries(BENCH_COLUMNS).map(
    ([name, type]) => `${name} ${type}${BENCH_REQUIRED.includes(name) ? ' NOT NULL' : ''}`,
  );
  const parts = [
    `CREATE TABLE bench.${table} (${cols.join(', ')}, PRIMARY KEY (${BENCH_KEY.join(', ')})) PARTITION BY RANGE (order_date)`,
  ];
  for (let m = 0; m < 24; m++) {
    const from = new Date(Date.UTC(2023, m, 1)).toISOString().slice(0, 10);
    const to = new Date(Date.UTC(2023, m + 1, 1)).toISOString().slice(0, 10);
    parts.push(
      `CREATE TABLE bench.${table}_p${from.slice(0, 7).replace('-', '_')} PARTITION OF bench.${table} FOR VALUES FROM ('${from}') TO ('${to}')`,
    );
  }
  parts.push(`CREATE TABLE bench.${table}_default PARTITION OF bench.${table} DEFAULT`);
  await db.query(`DROP TABLE IF EXISTS bench.${table} CASCADE; ${parts.join('; ')}`);
}

async function settle(db: pg.Client): Promise<void> {
  // Each load starts from the same state: no dirty buffers of the previous one to write out.
  await db.query('CHECKPOINT');
}

async function countRows(db: pg.Client, table: string): Promise<number> {
  return Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM bench.${table}`)).rows[0]!.n);
}

async function runPsql(db: pg.Client, options: BenchOptions, data: GeneratedData): Promise<Measurement> {
  await createTargetTable(db, 'orders_psql');
  await settle(db);
  const copy = `\\copy bench.orders_psql (${COLUMN_NAMES.join(', ')}) FROM '${data.cleanFile}' WITH (FORMAT csv, HEADER true)`;
  const run = await timed('psql', [options.databaseUrl, '-v', 'ON_ERROR_STOP=1', '-c', copy]);
  const loaded = await countRows(db, 'orders_psql');
  if (loaded !== data.goodRows) throw new Error(`psql loaded ${loaded} rows, expected ${data.goodRows}`);
  return measurement('psql', data, loaded, run.seconds, run.peakRssMb, data.cleanBytes);
}

function ensurePgloader(log: (line: string) => void): void {
  if (which('pgloader')) return;
  log('pgloader is missing: installing it from Debian (apt-get, needs root or passwordless sudo)');
  const root = process.getuid?.() === 0;
  if (!root && !which('sudo'))
    throw new Error('pgloader is missing and installing it needs root: apt-get install -y pgloader');
  const apt = (args: string[]) =>
    execFileSync(root ? 'apt-get' : 'sudo', root ? args : ['-n', 'apt-get', ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', 'pgloader']);
}

async function runPgloader(db: pg.Client, options: BenchOptions, data: GeneratedData): Promise<Measurement> {
  await createTargetTable(db, 'orders_pgloader');
  await settle(db);
  const nullable = (c: string) => (BENCH_REQUIRED.includes(c) ? c : `${c} [null if blanks]`);
  const url = new URL(options.databaseUrl);
  const command = `LOAD CSV
  FROM '${data.cleanFile}' (${COLUMN_NAMES.map(nullable).join(', ')})
  INTO postgresql://${url.username ? `${url.username}@` : ''}${url.host}${url.pathname}
  TARGET TABLE bench.orders_pgloader (${COLUMN_NAMES.join(', ')})
  WITH skip header = 1, fields optionally enclosed by '"', fields escaped by double-quote, fields terminated by ',';
`;
  const file = join(dirname(data.cleanFile), 'pgloader.load');
  writeFileSync(file, command);
  const run = await timed('pgloader', [
    '--quiet',
    '--root-dir',
    join(dirname(data.cleanFile), 'pgloader'),
    file,
  ]);
  const loaded = await countRows(db, 'orders_pgloader');
  if (loaded !== data.goodRows) throw new Error(`pgloader loaded ${loaded} rows, expected ${data.goodRows}`);
  return measurement('pgloader', data, loaded, run.seconds, run.peakRssMb, data.cleanBytes);
}

async function runSluice(
  db: pg.Client,
  options: BenchOptions,
  data: GeneratedData,
  mode: 'append' | 'upsert',
  concurrency: number,
  threads = false,
): Promise<Measurement> {
  const table = `orders_${mode}`;
  const specFile = writeSpec(data, mode, table, options, concurrency);
  await db.query(`DROP TABLE IF EXISTS bench.${table} CASCADE`);
  const home = join(options.dataDir, '.sluice');
  rmSync(join(home, 'staging', 'runs'), { recursive: true, force: true });
  await settle(db);
  const child = JSON.stringify({
    specFile,
    home,
    databaseUrl: options.databaseUrl,
    concurrency,
    ...(threads ? { lambdaWorker: 'thread' } : {}),
  });
  const run = await timed(
    process.execPath,
    ['--import', 'tsx', join(BENCH_DIR, 'sluice-child.ts'), child],
    REPO,
  );
  const report = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as {
    status: string;
    error?: string;
    seconds: number;
    summary?: { loaded: number; rejected: number; read: number };
    phases: Measurement['phases'];
  };
  if (report.status !== 'succeeded') throw new Error(`sluice ${mode} run failed: ${report.error}`);
  const loaded = await countRows(db, table);
  if (
    loaded !== data.goodRows ||
    report.summary?.loaded !== loaded ||
    report.summary.rejected !== data.badRows
  )
    throw new Error(
      `sluice ${mode} loaded ${loaded} rows (summary ${JSON.stringify(report.summary)}), expected ${data.goodRows} and ${data.badRows} rejected`,
    );
  rmSync(join(home, 'staging', 'runs'), { recursive: true, force: true });
  // Wall time of the whole process (node + tsx start included), as psql and pgloader are timed.
  const name = `sluice-${mode}${threads ? '-threads' : ''}`;
  const m = measurement(name, data, loaded, run.seconds, run.peakRssMb, data.rawBytes);
  if (report.phases) m.phases = report.phases;
  return m;
}

export function writeSpec(
  data: GeneratedData,
  mode: string,
  table: string,
  options: BenchOptions,
  concurrency: number,
): string {
  const columns = Object.entries(BENCH_COLUMNS)
    .map(
      ([name, type]) =>
        `    ${name}: { type: "${type}"${BENCH_REQUIRED.includes(name) ? ', nullable: false' : ''} }`,
    )
    .join('\n');
  const spec = `name: bench-${mode}
source:
  connector: files
  config:
    location: ${JSON.stringify(dirname(data.rawFile))}
    pattern: "orders.csv"
    format: csv
chunking:
  targetBytes: ${options.chunkBytes}
transforms:
  - trim: [customer_email, note]
  - case: { columns: [country], to: upper }
destination:
  schema: bench
  table: ${table}
  mode: ${mode}
  columns:
${columns}
  key: [${BENCH_KEY.join(', ')}]
  partitioning: { column: order_date, by: month }
quality:
  maxRejectRatio: 0.02
runtime:
  compute: ${options.compute}
  concurrency: ${concurrency}
`;
  const file = join(dirname(data.cleanFile), `bench-${mode}.yaml`);
  writeFileSync(file, spec);
  return file;
}

// ---------------------------------------------------------------------------------------------------
// Measuring

/** Runs a command under GNU time: wall seconds, peak RSS of the process, its stdout. */
async function timed(
  command: string,
  args: string[],
  cwd?: string,
): Promise<{ seconds: number; peakRssMb: number; stdout: string }> {
  const rssFile = join(REPO, 'bench', 'results', `.rss-${process.pid}`);
  mkdirSync(dirname(rssFile), { recursive: true });
  const useTime = existsSync(TIME_BIN);
  const started = performance.now();
  const {
    code,
    stdout,
    stderrTail: stderr,
  } = await runChild(
    useTime ? TIME_BIN : command,
    useTime ? ['-f', '%M', '-o', rssFile, command, ...args] : args,
    { cwd: cwd ?? REPO, stderrTailChars: 8000 },
  );
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0)
    throw new Error(`${command} exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
  const peakRssMb = useTime
    ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1)) / 1024
    : Number.NaN;
  rmSync(rssFile, { force: true });
  return { seconds, peakRssMb, stdout };
}

function measurement(
  tool: string,
  data: GeneratedData,
  loaded: number,
  seconds: number,
  peakRssMb: number,
  bytes: number,
): Measurement {
  return {
    tool,
    rows: data.rows,
    loaded,
    seconds,
    rowsPerSecond: loaded / seconds,
    mbPerSecond: bytes / 1e6 / seconds,
    peakRssMb,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function medianOf(runs: Measurement[]): Measurement {
  const first = runs[0]!;
  const m: Measurement = {
    tool: first.tool,
    rows: first.rows,
    loaded: first.loaded,
    seconds: median(runs.map((r) => r.seconds)),
    rowsPerSecond: median(runs.map((r) => r.rowsPerSecond)),
    mbPerSecond: median(runs.map((r) => r.mbPerSecond)),
    peakRssMb: median(runs.map((r) => r.peakRssMb)),
  };
  if (first.phases) {
    m.phases = {
      prepare: median(runs.map((r) => r.phases?.prepare ?? 0)),
      chunks: median(runs.map((r) => r.phases?.chunks ?? 0)),
      commit: median(runs.map((r) => r.phases?.commit ?? 0)),
    };
  }
  return m;
}

function computeOption(value: string): 'lambda' | 'fargate' {
  if (value !== 'lambda' && value !== 'fargate')
    throw new Error(`--compute: "${value}" is not lambda or fargate`);
  return value;
}

function which(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(0);

function formatMeasurement(m: Measurement): string {
  const phases = m.phases
    ? `  (prepare ${m.phases.prepare.toFixed(1)} s, chunks ${m.phases.chunks.toFixed(1)} s, commit ${m.phases.commit.toFixed(1)} s)`
    : '';
  return `${m.tool.padEnd(15)} ${m.seconds.toFixed(2).padStart(7)} s ${Math.round(m.rowsPerSecond).toLocaleString('en-US').padStart(10)} rows/s ${m.mbPerSecond.toFixed(1).padStart(6)} MB/s  peak RSS ${m.peakRssMb.toFixed(0).padStart(4)} MB${phases}`;
}

/** The README's results table. */
export function markdownTable(result: BenchResult): string {
  const lines = [
    `Machine: ${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memoryGiB} GiB, Node ${result.machine.node}, PostgreSQL ${result.machine.postgres}. Date: ${result.date.slice(0, 10)}. Command: \`${result.command}\``,
  ];
  if (result.comparisons.length > 0)
    lines.push(
      '',
      '| Rows | Loader | Seconds | Rows/s | MB/s | Peak RSS (MB) | vs psql | vs pgloader |',
      '|---:|---|---:|---:|---:|---:|---:|---:|',
    );
  for (const c of result.comparisons) {
    for (const m of Object.values(c.medians)) {
      const vsPsql = c.ratios[`${m.tool}/psql`];
      const vsPgloader = c.ratios[`${m.tool}/pgloader`];
      lines.push(
        `| ${c.rows.toLocaleString('en-US')} | ${m.tool} | ${m.seconds.toFixed(1)} | ${Math.round(m.rowsPerSecond).toLocaleString('en-US')} | ${m.mbPerSecond.toFixed(1)} | ${m.peakRssMb.toFixed(0)} | ${vsPsql === undefined ? '' : `${vsPsql.toFixed(2)}×`} | ${vsPgloader === undefined ? '' : `${vsPgloader.toFixed(2)}×`} |`,
      );
    }
  }
  if (result.scaleOut.length > 0) {
    lines.push(
      '',
      '| Chunk workers (N) | Rows | Seconds | Rows/s | Peak RSS (MB) |',
      '|---:|---:|---:|---:|---:|',
    );
    for (const s of result.scaleOut)
      lines.push(
        `| ${s.workers} | ${s.rows.toLocaleString('en-US')} | ${s.median.seconds.toFixed(1)} | ${Math.round(s.median.rowsPerSecond).toLocaleString('en-US')} | ${s.median.peakRssMb.toFixed(0)} |`,
      );
  }
  if (result.bundles.length > 0) {
    lines.push('', '| Handler (source connector) | Bundle (KiB) | Cold import (ms) |', '|---|---:|---:|');
    for (const b of result.bundles)
      lines.push(`| ${bundleName(b)} | ${(b.bytes / 1024).toFixed(0)} | ${b.initMs.toFixed(0)} |`);
  }
  return lines.join('\n');
}

function bundleName(b: BundleResult): string {
  return b.connector ? `${b.handler} (${b.connector})` : b.handler;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runBench(parseBenchArgs(process.argv.slice(2)));
}
