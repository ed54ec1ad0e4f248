/** The bench's printed lines and the markdown tables bench/README.md is written from. */

import type { BundleResult } from './bundles.js';
import type { Measurement } from './measure.js';
import { type ScaleModel, scaleModelMarkdown } from './model.js';
import type { ParquetMeasurement } from './parquet.js';

export interface Comparison {
  rows: number;
  medians: Record<string, Measurement>;
  /** `<sluice tool>/<psql|pgloader>`: rows/s over rows/s; `<tool>/psql server CPU per row`: µs over µs. */
  ratios: Record<string, number>;
  runs: Measurement[];
}

export interface ScaleOutRun {
  rows: number;
  workers: number;
  median: Measurement;
}

export interface SaturationRun extends ScaleOutRun {
  threads: boolean;
  /** The CPUs the bench's own server was pinned to, and its CPU quota in cores when one was set. */
  serverCpus: string;
  serverQuotaCores: number | undefined;
  /** Server CPU seconds per wall second: how many cores the server kept busy. */
  serverCores: number;
  /** The same over the chunk phase alone (sampled every 200 ms): where N matters. */
  chunkPhaseServerCores: number;
  /** Loaded rows over the chunk phase (the part N changes). */
  chunkRowsPerSecond: number;
}

export interface BenchResult {
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; postgres: string };
  date: string;
  command: string;
  options: Record<string, unknown>;
  comparisons: Comparison[];
  scaleOut: ScaleOutRun[];
  saturation: SaturationRun[];
  scaleModel: ScaleModel[];
  bundles: BundleResult[];
  /** `--only parquet`: the orders as a DuckDB-written Parquet file, loaded by Sluice (bench/parquet.ts). */
  parquet?: ParquetMeasurement[];
}

const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

export function formatMeasurement(m: Measurement): string {
  const phases = m.phases
    ? `  (prepare ${m.phases.prepare.toFixed(1)} s, chunks ${m.phases.chunks.toFixed(1)} s, commit ${m.phases.commit.toFixed(1)} s)`
    : '';
  const split = m.serverCpuSplit
    ? ` (load ${m.serverCpuSplit.load.toFixed(2)} + vacuum ${m.serverCpuSplit.vacuum.toFixed(2)} + checkpoint ${m.serverCpuSplit.checkpoint.toFixed(2)})`
    : '';
  const noise = m.otherBackends > 0 ? `  [${m.otherBackends} other clients on the server]` : '';
  return `${m.tool.padEnd(22)} ${m.seconds.toFixed(2).padStart(7)} s ${int(m.rowsPerSecond).padStart(10)} rows/s ${m.mbPerSecond.toFixed(1).padStart(6)} MB/s  RSS ${fixed(m.peakRssMb, 0).padStart(4)} MB  CPU: machine ${fixed(m.machineCpuSeconds, 2)} s, server ${fixed(m.serverCpuSeconds, 2)} s${split} = ${fixed(m.serverCpuUsPerRow, 2)} µs/row${phases}${noise}`;
}

export function bundleName(b: BundleResult): string {
  return b.connector ? `${b.handler} (${b.connector})` : b.handler;
}

/** The README's results tables. */
export function markdownTable(result: BenchResult): string {
  const lines = [
    `Machine: ${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memoryGiB} GiB, Node ${result.machine.node}, PostgreSQL ${result.machine.postgres}. Date: ${result.date.slice(0, 10)}. Command: \`${result.command}\``,
  ];
  if (result.comparisons.length > 0)
    lines.push(
      '',
      '| Rows | Loader | Wall s | Rows/s | MB/s | Peak RSS (MB) | Machine CPU s | Server CPU s | load + vacuum + checkpoint | Server CPU µs/row | Server CPU/row vs psql | vs psql | vs pgloader |',
      '|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|',
    );
  for (const c of result.comparisons) {
    for (const m of Object.values(c.medians)) {
      const ratio = (key: string) => {
        const r = c.ratios[key];
        return r === undefined || !Number.isFinite(r) ? '' : `${r.toFixed(2)}×`;
      };
      lines.push(
        `| ${c.rows.toLocaleString('en-US')} | ${m.tool} | ${m.seconds.toFixed(2)} | ${int(m.rowsPerSecond)} | ${m.mbPerSecond.toFixed(1)} | ${fixed(m.peakRssMb, 0)} | ${fixed(m.machineCpuSeconds, 2)} | ${fixed(m.serverCpuSeconds, 2)} | ${m.serverCpuSplit ? `${m.serverCpuSplit.load.toFixed(2)} + ${m.serverCpuSplit.vacuum.toFixed(2)} + ${m.serverCpuSplit.checkpoint.toFixed(2)}` : 'n/a'} | ${fixed(m.serverCpuUsPerRow, 2)} | ${ratio(`${m.tool}/psql server CPU per row`)} | ${ratio(`${m.tool}/psql`)} | ${ratio(`${m.tool}/pgloader`)} |`,
      );
    }
  }
  if (result.scaleOut.length > 0) {
    lines.push(
      '',
      '| Chunk workers (N) | Rows | Wall s | Rows/s | Peak RSS (MB) | Server CPU s | Server CPU µs/row |',
      '|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const s of result.scaleOut)
      lines.push(
        `| ${s.workers} | ${s.rows.toLocaleString('en-US')} | ${s.median.seconds.toFixed(1)} | ${int(s.median.rowsPerSecond)} | ${fixed(s.median.peakRssMb, 0)} | ${fixed(s.median.serverCpuSeconds, 2)} | ${fixed(s.median.serverCpuUsPerRow, 2)} |`,
      );
  }
  if (result.saturation.length > 0) {
    const first = result.saturation[0]!;
    lines.push(
      '',
      `Saturation: the bench's own PostgreSQL pinned to CPU ${first.serverCpus}${first.serverQuotaCores === undefined ? '' : ` with a quota of ${first.serverQuotaCores} core`}, append, chunk workers ${first.threads ? 'in threads' : 'in process'}:`,
      '',
      '| Chunk workers (N) | Rows | Wall s | Rows/s | Chunk phase rows/s | Chunks s | Commit s | Server CPU s | Server cores busy | In the chunk phase | Server CPU µs/row | Machine CPU s |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const s of result.saturation) {
      const m = s.median;
      lines.push(
        `| ${s.workers} | ${s.rows.toLocaleString('en-US')} | ${m.seconds.toFixed(2)} | ${int(m.rowsPerSecond)} | ${int(s.chunkRowsPerSecond)} | ${fixed(m.phases?.chunks ?? Number.NaN, 2)} | ${fixed(m.phases?.commit ?? Number.NaN, 2)} | ${fixed(m.serverCpuSeconds, 2)} | ${fixed(s.serverCores, 2)} | ${fixed(s.chunkPhaseServerCores, 2)} | ${fixed(m.serverCpuUsPerRow, 2)} | ${fixed(m.machineCpuSeconds, 2)} |`,
      );
    }
  }
  if (result.scaleModel.length > 0) lines.push('', scaleModelMarkdown(result.scaleModel));
  if (result.bundles.length > 0) {
    lines.push('', '| Handler (source connector) | Bundle (KiB) | Cold import (ms) |', '|---|---:|---:|');
    for (const b of result.bundles)
      lines.push(`| ${bundleName(b)} | ${(b.bytes / 1024).toFixed(0)} | ${b.initMs.toFixed(0)} |`);
  }
  return lines.join('\n');
}
