/** `npm run bench` flags: parsed once, every bad value refused with the flag's name. */
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

export const STEPS = ['sluice', 'psql', 'pgloader', 'bundles', 'scale', 'saturation', 'parquet'] as const;
/** What a bench without `--only` runs: every step but `parquet` (a DuckDB-written file per row count; ask for it). */
const DEFAULT_STEPS = STEPS.filter((s) => s !== 'parquet');

export interface BenchOptions {
  rows: number[];
  repeats: number;
  only: Set<string>;
  modes: ('append' | 'upsert')[];
  /** Scale-out and saturation: chunk workers for each run, on the largest row count. */
  workers: number[];
  /** Chunk workers for the Sluice-vs-psql-vs-pgloader comparison. */
  concurrency: number;
  chunkBytes: string;
  /** Also time each Sluice mode with chunks in worker threads (`sluice run --threads`); scale-out then uses threads. */
  threads: boolean;
  /** Where chunks run: in the runner's process (the Lambda twin) or one child process per batch (the Fargate twin). */
  compute: 'lambda' | 'fargate';
  databaseUrl: string;
  /** Run the comparison and scale-out on a PostgreSQL of the bench's own (settings copied from --database-url's), so no other client's work lands in the server CPU. */
  ownServer: boolean;
  /** Measure the server's CPU (needs the server on this machine); off with --no-server-cpu. */
  serverCpu: boolean;
  /** Saturation: the CPUs (taskset list) the bench's own PostgreSQL is pinned to. */
  saturationCpus: string;
  /** Saturation: a CPU quota for that server in cores (cgroup v1 cpu.cfs_quota_us), e.g. 0.25 ≈ 1 ACU; undefined = none. */
  saturationQuota: number | undefined;
  /** Scale model: the Lambda memory (MB) the chunk functions run with. */
  lambdaMemoryMb: number;
  dataDir: string;
  resultsFile: string;
  quiet: boolean;
}

export function parseBenchArgs(argv: string[]): BenchOptions {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    if (i !== -1 && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--')))
      throw new Error(`--${name} needs a value`);
    return i === -1 ? undefined : argv[i + 1];
  };
  const list = (name: string, fallback: string) =>
    (get(name) ?? fallback)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const positive = (name: string, s: string) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: "${s}" is not a positive number`);
    return n;
  };
  const numbers = (name: string, fallback: string) =>
    list(name, fallback).map((s) => Math.round(positive(name, s)));
  const modes = list('modes', 'append,upsert');
  for (const m of modes)
    if (m !== 'append' && m !== 'upsert') throw new Error(`--modes: "${m}" is not append or upsert`);
  const only = list('only', DEFAULT_STEPS.join(','));
  for (const step of only)
    if (!(STEPS as readonly string[]).includes(step))
      throw new Error(`--only: "${step}" is not one of ${STEPS.join(', ')}`);
  const quota = get('saturation-quota');
  const saturationCpus = get('saturation-cpus') ?? '0';
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(saturationCpus))
    throw new Error(`--saturation-cpus: "${saturationCpus}" is not a CPU list such as 0 or 0-1`);
  return {
    rows: numbers('rows', '1e6,1e7'),
    repeats: numbers('repeats', '3')[0]!,
    only: new Set(only),
    modes: modes as ('append' | 'upsert')[],
    workers: numbers('workers', '1,2,4,8'),
    concurrency: numbers('concurrency', String(cpus().length))[0]!,
    chunkBytes: get('chunk-bytes') ?? '32MiB',
    compute: computeOption(get('compute') ?? 'lambda'),
    databaseUrl: get('database-url') ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    ownServer: argv.includes('--own-server'),
    serverCpu: !argv.includes('--no-server-cpu'),
    saturationCpus,
    saturationQuota: quota === undefined ? undefined : positive('saturation-quota', quota),
    lambdaMemoryMb: numbers('lambda-memory', '1024')[0]!,
    dataDir: resolve(get('data-dir') ?? join(BENCH_DIR, 'data')),
    resultsFile: resolve(
      get('out') ?? join(BENCH_DIR, 'results', `bench-${new Date().toISOString().replaceAll(':', '-')}.json`),
    ),
    quiet: argv.includes('--quiet'),
    threads: argv.includes('--threads'),
  };
}

function computeOption(value: string): 'lambda' | 'fargate' {
  if (value !== 'lambda' && value !== 'fargate')
    throw new Error(`--compute: "${value}" is not lambda or fargate`);
  return value;
}
