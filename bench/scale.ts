/**
 * Scale-out: Sluice append over N chunk workers on the bench's server; and saturation: the same against
 * a PostgreSQL of the bench's own, pinned to one core (and optionally held to a CPU quota), so the N at
 * which the database stops giving more shows, as the scale model predicts it for Aurora.
 */
import pg from 'pg';
import type { GeneratedData } from './generate.js';
import { type LoadTarget, runSluice } from './loaders.js';
import { type Measurement, medianOf } from './measure.js';
import type { BenchOptions } from './options.js';
import { startPrivatePostgres } from './pg-instance.js';
import { formatMeasurement, type SaturationRun, type ScaleOutRun } from './report.js';
import { ServerCpu } from './server-cpu.js';

export async function runScaleOut(
  target: LoadTarget,
  options: BenchOptions,
  data: GeneratedData,
): Promise<ScaleOutRun[]> {
  target.log(
    `\n== scale-out: append, ${data.rows.toLocaleString('en-US')} rows${options.threads ? ', chunk workers in threads' : ''}`,
  );
  const out: ScaleOutRun[] = [];
  for (const workers of options.workers) {
    const runs: Measurement[] = [];
    for (let r = 0; r < options.repeats; r++)
      runs.push(await runSluice(target, options, data, 'append', workers, options.threads));
    const median = medianOf(runs);
    out.push({ rows: data.rows, workers, median });
    target.log(`  N=${String(workers).padEnd(2)} ${formatMeasurement(median)}`);
  }
  return out;
}

/**
 * Starts the bench's own PostgreSQL (settings copied from `main`), pinned to `--saturation-cpus`, runs
 * append with each N of `--workers` (chunk workers in threads: each its own event loop, as each Lambda
 * is), and stops and deletes the instance at the end, failed or not.
 */
export async function runSaturation(
  main: pg.Client,
  options: BenchOptions,
  data: GeneratedData,
  log: (line: string) => void,
): Promise<SaturationRun[]> {
  const instance = await startPrivatePostgres(main, {
    cpus: options.saturationCpus,
    quotaCores: options.saturationQuota,
  });
  const db = new pg.Client({ connectionString: instance.url });
  try {
    await db.connect();
    await db.query('CREATE SCHEMA IF NOT EXISTS bench');
    const target: LoadTarget = {
      db,
      databaseUrl: instance.url,
      server: await ServerCpu.locate(db),
      log,
    };
    log(
      `\n== saturation: append, ${data.rows.toLocaleString('en-US')} rows, chunk workers in threads, against the bench's own PostgreSQL on port ${instance.port} pinned to CPU ${instance.cpusAllowed}${instance.quotaCores === undefined ? '' : `, quota ${instance.quotaCores} core`}`,
    );
    const out: SaturationRun[] = [];
    for (const workers of options.workers) {
      const runs: Measurement[] = [];
      for (let r = 0; r < options.repeats; r++)
        runs.push(await runSluice(target, options, data, 'append', workers, true, 200));
      const median = medianOf(runs);
      const run: SaturationRun = {
        rows: data.rows,
        workers,
        median,
        threads: true,
        serverCpus: instance.cpusAllowed,
        serverQuotaCores: instance.quotaCores,
        serverCores: median.serverCpuSeconds / median.seconds,
        chunkPhaseServerCores: median.chunkPhaseServerCores ?? Number.NaN,
        chunkRowsPerSecond: median.loaded / (median.phases?.chunks ?? Number.NaN),
      };
      out.push(run);
      log(
        `  N=${String(workers).padEnd(2)} ${formatMeasurement(median)}  server cores ${run.serverCores.toFixed(2)} (chunk phase ${run.chunkPhaseServerCores.toFixed(2)})`,
      );
    }
    return out;
  } finally {
    await db.end().catch(() => undefined);
    instance.stop();
  }
}
