/**
 * Timing one loader: wall time, peak RSS and CPU of its process under GNU time, and the PostgreSQL
 * server's CPU over the same load (see server-cpu.ts), plus medians of repeated measurements.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { runChild } from '../functions/local/child-process.js';
import type { GeneratedData } from './generate.js';
import type { ServerCpu } from './server-cpu.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TIME_BIN = '/usr/bin/time';

export interface Measurement {
  tool: string;
  rows: number;
  loaded: number;
  /** Wall time of the loader's process. */
  seconds: number;
  rowsPerSecond: number;
  mbPerSecond: number;
  peakRssMb: number;
  /** User + system CPU of the loader's process and the children it waited for (GNU time). */
  loaderCpuSeconds: number;
  /** The server's CPU over the load and a CHECKPOINT right after it (NaN with --no-server-cpu). */
  serverCpuSeconds: number;
  serverCpuUsPerRow: number;
  /** Server CPU seconds of the load itself, of the VACUUM (ANALYZE) after it and of the CHECKPOINT after that. */
  serverCpuSplit?: { load: number; vacuum: number; checkpoint: number };
  /** Loader + server: the CPU the load cost this machine. */
  machineCpuSeconds: number;
  /** Busy time of the whole machine over the same window (/proc/stat), other processes included. */
  hostBusySeconds: number;
  /** Client backends of others connected to the server at the end of the load (a noisy sample shows here). */
  otherBackends: number;
  phases?: { prepare: number; chunks: number; commit: number };
  /** Server CPU seconds per second of the chunk phase (saturation runs, from the sampled trace). */
  chunkPhaseServerCores?: number;
}

export interface TimedRun {
  seconds: number;
  peakRssMb: number;
  cpuSeconds: number;
  stdout: string;
}

/** Runs a command under GNU time: wall seconds, peak RSS and CPU of the process, its stdout. */
export async function timed(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<TimedRun> {
  const statsFile = join(REPO, 'bench', 'results', `.time-${process.pid}`);
  mkdirSync(dirname(statsFile), { recursive: true });
  const useTime = existsSync(TIME_BIN);
  const [bin, ...rest] = [
    ...(useTime ? [TIME_BIN, '-f', '%M %U %S', '-o', statsFile] : []),
    command,
    ...args,
  ];
  const started = performance.now();
  const {
    code,
    stdout,
    stderrTail: stderr,
  } = await runChild(bin!, rest, {
    cwd: options.cwd ?? REPO,
    stderrTailChars: 8000,
    ...(options.env ? { env: options.env } : {}),
  });
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0)
    throw new Error(`${command} exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
  let peakRssMb = Number.NaN;
  let cpuSeconds = Number.NaN;
  if (useTime) {
    const [rssKb, user, system] = (readFileSync(statsFile, 'utf8').trim().split('\n').at(-1) ?? '')
      .split(' ')
      .map(Number);
    peakRssMb = (rssKb ?? Number.NaN) / 1024;
    cpuSeconds = (user ?? Number.NaN) + (system ?? Number.NaN);
    rmSync(statsFile, { force: true });
  }
  return { seconds, peakRssMb, cpuSeconds, stdout };
}

/** What one load cost the server: the CPU samples around it and who else was connected. */
export interface ServerShare {
  serverCpuSeconds: number;
  /** Where the server CPU went: the load, the VACUUM (ANALYZE) after it, the CHECKPOINT after that. */
  serverCpuSplit?: { load: number; vacuum: number; checkpoint: number };
  hostBusySeconds: number;
  otherBackends: number;
  /** With `traceMs`: the server's cumulative CPU seconds sampled through the load, at wall-clock ms. */
  trace: { at: number; cpu: number }[];
}

/** Server CPU cores busy between two wall-clock instants, interpolated from a sampled trace. */
export function coresBetween(trace: ServerShare['trace'], from: number, to: number): number {
  const at = (t: number) => {
    const i = trace.findIndex((p) => p.at >= t);
    if (i <= 0) return (i === 0 ? trace[0] : trace.at(-1))?.cpu ?? Number.NaN;
    const a = trace[i - 1]!;
    const b = trace[i]!;
    return a.cpu + ((b.cpu - a.cpu) * (t - a.at)) / (b.at - a.at);
  };
  return to > from ? (at(to) - at(from)) / ((to - from) / 1000) : Number.NaN;
}

/**
 * Runs `load` inside the server-CPU window: a CHECKPOINT first (so every load starts with no dirty
 * buffers of the previous one), then the load, then, inside the window, a VACUUM (ANALYZE) of the
 * loaded `table` and a CHECKPOINT (so the vacuum, statistics, WAL and dirty pages the load left behind
 * are counted against it, for every loader alike), then waits for the
 * loader's backends (by application name) to exit and be reaped before the second sample.
 */
export async function withServerShare<T>(
  db: pg.Client,
  server: ServerCpu | undefined,
  table: string,
  applicationNames: string[],
  log: (line: string) => void,
  load: () => Promise<T>,
  traceMs?: number,
): Promise<{ result: T; share: ServerShare }> {
  await db.query('CHECKPOINT');
  const before = server?.sample();
  const trace: ServerShare['trace'] = [];
  const tick = () => {
    if (server) trace.push({ at: Date.now(), cpu: server.sample().server });
  };
  tick();
  const timer = traceMs ? setInterval(tick, traceMs) : undefined;
  let result: T;
  try {
    result = await load();
  } finally {
    clearInterval(timer);
  }
  tick();
  // The loader's backends gone, the split: the load itself, then the vacuum and statistics its rows
  // need (autovacuum would do them a minute later, inside some other load's window), then the
  // deferred writes (CHECKPOINT).
  const otherBackends = server ? await server.waitForLoaderBackends(db, applicationNames, log) : 0;
  const loaded = server?.sample();
  await db.query(`VACUUM (ANALYZE) ${table}`);
  const vacuumed = server?.sample();
  await db.query('CHECKPOINT');
  const after = server?.sample();
  const share: ServerShare =
    before && loaded && vacuumed && after
      ? {
          serverCpuSeconds: after.server - before.server,
          serverCpuSplit: {
            load: loaded.server - before.server,
            vacuum: vacuumed.server - loaded.server,
            checkpoint: after.server - vacuumed.server,
          },
          hostBusySeconds: after.machine - before.machine,
          otherBackends,
          trace,
        }
      : { serverCpuSeconds: Number.NaN, hostBusySeconds: Number.NaN, otherBackends, trace };
  return { result, share };
}

export function measurement(
  tool: string,
  data: GeneratedData,
  loaded: number,
  run: TimedRun,
  share: ServerShare,
  bytes: number,
): Measurement {
  return {
    tool,
    rows: data.rows,
    loaded,
    seconds: run.seconds,
    rowsPerSecond: loaded / run.seconds,
    mbPerSecond: bytes / 1e6 / run.seconds,
    peakRssMb: run.peakRssMb,
    loaderCpuSeconds: run.cpuSeconds,
    serverCpuSeconds: share.serverCpuSeconds,
    serverCpuUsPerRow: (share.serverCpuSeconds / loaded) * 1e6,
    machineCpuSeconds: run.cpuSeconds + share.serverCpuSeconds,
    hostBusySeconds: share.hostBusySeconds,
    otherBackends: share.otherBackends,
    ...(share.serverCpuSplit ? { serverCpuSplit: share.serverCpuSplit } : {}),
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Per-field medians of repeated measurements of one tool. */
export function medianOf(runs: Measurement[]): Measurement {
  const first = runs[0]!;
  const med = (field: keyof Measurement) => median(runs.map((r) => r[field] as number));
  const m: Measurement = {
    tool: first.tool,
    rows: first.rows,
    loaded: first.loaded,
    seconds: med('seconds'),
    rowsPerSecond: med('rowsPerSecond'),
    mbPerSecond: med('mbPerSecond'),
    peakRssMb: med('peakRssMb'),
    loaderCpuSeconds: med('loaderCpuSeconds'),
    serverCpuSeconds: med('serverCpuSeconds'),
    serverCpuUsPerRow: med('serverCpuUsPerRow'),
    machineCpuSeconds: med('machineCpuSeconds'),
    hostBusySeconds: med('hostBusySeconds'),
    otherBackends: Math.max(...runs.map((r) => r.otherBackends)),
  };
  if (first.serverCpuSplit)
    m.serverCpuSplit = {
      load: median(runs.map((r) => r.serverCpuSplit?.load ?? Number.NaN)),
      vacuum: median(runs.map((r) => r.serverCpuSplit?.vacuum ?? Number.NaN)),
      checkpoint: median(runs.map((r) => r.serverCpuSplit?.checkpoint ?? Number.NaN)),
    };
  if (first.chunkPhaseServerCores !== undefined)
    m.chunkPhaseServerCores = median(runs.map((r) => r.chunkPhaseServerCores ?? Number.NaN));
  if (first.phases) {
    m.phases = {
      prepare: median(runs.map((r) => r.phases?.prepare ?? 0)),
      chunks: median(runs.map((r) => r.phases?.chunks ?? 0)),
      commit: median(runs.map((r) => r.phases?.commit ?? 0)),
    };
  }
  return m;
}
