/**
 * The bench's loaders, each loading the same generated orders into the same partitioned table on a
 * fresh table: Sluice's local runner end to end (append or upsert), `psql \copy` of the clean CSV,
 * and pgloader. Each checks the table's row count before it returns a measurement.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { BENCH_COLUMNS, BENCH_KEY, BENCH_REQUIRED, type GeneratedData } from './generate.js';
import { coresBetween, type Measurement, measurement, timed, withServerShare } from './measure.js';
import type { BenchOptions } from './options.js';
import type { ServerCpu } from './server-cpu.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(BENCH_DIR, '..');
const COLUMN_NAMES = Object.keys(BENCH_COLUMNS);
/** The loaders' backends carry this application name, so the bench can wait for them to exit. */
const APP_NAME = `sluice-bench-${process.pid}`;
const LOADER_ENV = { ...process.env, PGAPPNAME: APP_NAME };

/** The server a load goes to: a connection for the bench's own queries, and its CPU meter. */
export interface LoadTarget {
  db: pg.Client;
  databaseUrl: string;
  server: ServerCpu | undefined;
  log: (line: string) => void;
}

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

async function countRows(db: pg.Client, table: string): Promise<number> {
  return Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM bench.${table}`)).rows[0]!.n);
}

export async function runPsql(target: LoadTarget, data: GeneratedData): Promise<Measurement> {
  await createTargetTable(target.db, 'orders_psql');
  const copy = `\\copy bench.orders_psql (${COLUMN_NAMES.join(', ')}) FROM '${data.cleanFile}' WITH (FORMAT csv, HEADER true)`;
  const { result: run, share } = await withServerShare(
    target.db,
    target.server,
    'bench.orders_psql',
    [APP_NAME],
    target.log,
    () => timed('psql', [target.databaseUrl, '-v', 'ON_ERROR_STOP=1', '-c', copy], { env: LOADER_ENV }),
  );
  const loaded = await countRows(target.db, 'orders_psql');
  if (loaded !== data.goodRows) throw new Error(`psql loaded ${loaded} rows, expected ${data.goodRows}`);
  return measurement('psql', data, loaded, run, share, data.cleanBytes);
}

export function ensurePgloader(log: (line: string) => void): void {
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

export async function runPgloader(target: LoadTarget, data: GeneratedData): Promise<Measurement> {
  await createTargetTable(target.db, 'orders_pgloader');
  const nullable = (c: string) => (BENCH_REQUIRED.includes(c) ? c : `${c} [null if blanks]`);
  const url = new URL(target.databaseUrl);
  const command = `LOAD CSV
  FROM '${data.cleanFile}' (${COLUMN_NAMES.map(nullable).join(', ')})
  INTO postgresql://${url.username ? `${url.username}@` : ''}${url.host}${url.pathname}
  TARGET TABLE bench.orders_pgloader (${COLUMN_NAMES.join(', ')})
  WITH skip header = 1, fields optionally enclosed by '"', fields escaped by double-quote, fields terminated by ',';
`;
  const file = join(dirname(data.cleanFile), 'pgloader.load');
  writeFileSync(file, command);
  const args = ['--quiet', '--root-dir', join(dirname(data.cleanFile), 'pgloader'), file];
  // pgloader names its own sessions (application_name "pgloader"), whatever PGAPPNAME says.
  const { result: run, share } = await withServerShare(
    target.db,
    target.server,
    'bench.orders_pgloader',
    [APP_NAME, 'pgloader'],
    target.log,
    () => timed('pgloader', args, { env: LOADER_ENV }),
  );
  const loaded = await countRows(target.db, 'orders_pgloader');
  if (loaded !== data.goodRows) throw new Error(`pgloader loaded ${loaded} rows, expected ${data.goodRows}`);
  return measurement('pgloader', data, loaded, run, share, data.cleanBytes);
}

export async function runSluice(
  target: LoadTarget,
  options: BenchOptions,
  data: GeneratedData,
  mode: 'append' | 'upsert',
  concurrency: number,
  threads = false,
  /** Sample the server's CPU every this many ms through the load, for the chunk phase's share (saturation). */
  traceMs?: number,
): Promise<Measurement> {
  const table = `orders_${mode}`;
  const specFile = writeSpec(data, mode, table, options, concurrency);
  await target.db.query(`DROP TABLE IF EXISTS bench.${table} CASCADE`);
  const home = join(options.dataDir, '.sluice');
  rmSync(join(home, 'staging', 'runs'), { recursive: true, force: true });
  const child = JSON.stringify({
    specFile,
    home,
    databaseUrl: target.databaseUrl,
    concurrency,
    ...(threads ? { lambdaWorker: 'thread' } : {}),
  });
  const { result: run, share } = await withServerShare(
    target.db,
    target.server,
    `bench.${table}`,
    [APP_NAME],
    target.log,
    () =>
      timed(process.execPath, ['--import', 'tsx', join(BENCH_DIR, 'sluice-child.ts'), child], {
        cwd: REPO,
        env: LOADER_ENV,
      }),
    traceMs,
  );
  const report = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as {
    status: string;
    error?: string;
    seconds: number;
    summary?: { loaded: number; rejected: number; read: number };
    phases: Measurement['phases'];
    chunkPhase: { from: number; to: number };
  };
  if (report.status !== 'succeeded') throw new Error(`sluice ${mode} run failed: ${report.error}`);
  const loaded = await countRows(target.db, table);
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
  const m = measurement(name, data, loaded, run, share, data.rawBytes);
  if (report.phases) m.phases = report.phases;
  if (traceMs)
    m.chunkPhaseServerCores = coresBetween(share.trace, report.chunkPhase.from, report.chunkPhase.to);
  return m;
}

export function writeSpec(
  data: GeneratedData,
  mode: string,
  table: string,
  options: Pick<BenchOptions, 'chunkBytes' | 'compute'>,
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

function which(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
