/**
 * `npm run bench`: loads the same generated orders into the same partitioned table three ways on the
 * real PostgreSQL — Sluice's local runner end to end (append and upsert), `psql \copy` of the clean
 * CSV, and pgloader — repeats each, and prints medians of wall time, rows/s, MB/s, peak RSS, machine
 * and server CPU and the ratios. Also: Lambda bundle sizes and cold import times, scale-out over N
 * chunk workers, saturation of a one-core PostgreSQL of the bench's own, and the AWS scale model.
 *
 *   npm run bench -- --rows 1e6,1e7 --repeats 3 --only sluice,psql,pgloader,bundles,scale,saturation \
 *                    --modes append,upsert --workers 1,2,4,8 --concurrency 2
 *
 * pgloader comes from Debian: when it is missing the bench runs `apt-get install -y pgloader`, which
 * needs root (or pass --only without pgloader).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parseByteSize } from '../functions/engine/spec/schema.js';
import { measureBundles } from './bundles.js';
import { generateBenchData } from './generate.js';
import { ensurePgloader, type LoadTarget, runPgloader, runPsql, runSluice } from './loaders.js';
import { type Measurement, medianOf } from './measure.js';
import { scaleModel } from './model.js';
import { type BenchOptions, parseBenchArgs } from './options.js';
import { runParquetBench } from './parquet.js';
import { startPrivatePostgres } from './pg-instance.js';
import { type BenchResult, bundleName, type Comparison, formatMeasurement, markdownTable } from './report.js';
import { runSaturation, runScaleOut } from './scale.js';
import { ServerCpu } from './server-cpu.js';

export type { BenchOptions } from './options.js';
export { parseBenchArgs } from './options.js';
export type { BenchResult } from './report.js';

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
    saturation: [],
    scaleModel: [],
    bundles: [],
  };
  // --own-server: the loads go to a PostgreSQL of the bench's own, which no other client uses.
  const own = options.ownServer ? await startPrivatePostgres(db, {}) : undefined;
  const ownDb = own ? new pg.Client({ connectionString: own.url }) : undefined;
  try {
    if (ownDb && own) {
      await ownDb.connect();
      await ownDb.query('CREATE SCHEMA IF NOT EXISTS bench');
      result.machine.postgres += ` (the bench's own instance on port ${own.port}, settings of ${new URL(options.databaseUrl).host})`;
      log(`loads go to the bench's own PostgreSQL on port ${own.port}`);
    }
    const loadDb = ownDb ?? db;
    const target: LoadTarget = {
      db: loadDb,
      databaseUrl: own?.url ?? options.databaseUrl,
      server: options.serverCpu ? await ServerCpu.locate(loadDb) : undefined,
      log,
    };
    if (options.only.has('pgloader')) ensurePgloader(log);
    for (const rows of options.rows) {
      const comparison = await compareLoaders(target, options, rows);
      if (comparison) result.comparisons.push(comparison);
    }
    const largest = Math.max(...options.rows);
    if (options.only.has('scale'))
      result.scaleOut = await runScaleOut(target, options, benchData(options, largest));
    if (options.only.has('saturation'))
      result.saturation = await runSaturation(db, options, benchData(options, largest), log);
    // The orders as a Parquet file written by DuckDB, loaded by Sluice (issue 15, lever 5): bench/parquet.ts.
    if (options.only.has('parquet'))
      result.parquet = await runParquetBench({ ...options, databaseUrl: target.databaseUrl });
    result.scaleModel = modelFromComparisons(result.comparisons, options);
    if (options.only.has('bundles')) {
      log('\n== Lambda bundles (production esbuild settings; cold import in a fresh node)');
      result.bundles = await measureBundles(join(dirname(options.resultsFile), 'bundles'));
      for (const b of result.bundles)
        log(
          `  ${bundleName(b).padEnd(26)} ${(b.bytes / 1024).toFixed(0).padStart(6)} KiB  init ${b.initMs.toFixed(0)} ms`,
        );
    }
  } finally {
    await ownDb?.end().catch(() => undefined);
    own?.stop();
    await db.end();
  }
  mkdirSync(dirname(options.resultsFile), { recursive: true });
  writeFileSync(options.resultsFile, `${JSON.stringify(result, null, 2)}\n`);
  log(`\nresults: ${options.resultsFile}`);
  if (!options.quiet) process.stdout.write(`\n${markdownTable(result)}\n`);
  return result;
}

function benchData(options: BenchOptions, rows: number) {
  return generateBenchData(join(options.dataDir, `rows-${rows}`), rows);
}

/** Every loader on `rows` rows, interleaved repeat by repeat; medians and ratios. */
async function compareLoaders(
  target: LoadTarget,
  options: BenchOptions,
  rows: number,
): Promise<Comparison | undefined> {
  const data = benchData(options, rows);
  const tools: { name: string; run: () => Promise<Measurement> }[] = [];
  for (const mode of options.modes)
    if (options.only.has('sluice')) {
      tools.push({
        name: `sluice-${mode}`,
        run: () => runSluice(target, options, data, mode, options.concurrency),
      });
      if (options.threads)
        tools.push({
          name: `sluice-${mode}-threads`,
          run: () => runSluice(target, options, data, mode, options.concurrency, true),
        });
    }
  if (options.only.has('psql')) tools.push({ name: 'psql', run: () => runPsql(target, data) });
  if (options.only.has('pgloader')) tools.push({ name: 'pgloader', run: () => runPgloader(target, data) });
  if (tools.length === 0) return undefined;
  const log = target.log;
  log(
    `\n== ${rows.toLocaleString('en-US')} rows: ${(data.rawBytes / 1e6).toFixed(0)} MB raw, ${data.badRows} bad rows`,
  );
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
    if (name !== 'psql' && medians.psql)
      ratios[`${name}/psql server CPU per row`] = s.serverCpuUsPerRow / medians.psql.serverCpuUsPerRow;
    if (!name.startsWith('sluice-')) continue;
    for (const other of ['psql', 'pgloader']) {
      const o = medians[other];
      if (o) ratios[`${name}/${other}`] = s.rowsPerSecond / o.rowsPerSecond;
    }
  }
  log(`  medians (${options.repeats} runs each):`);
  for (const m of Object.values(medians)) log(`    ${formatMeasurement(m)}`);
  for (const [name, ratio] of Object.entries(ratios)) log(`    ${name.padEnd(40)} ${ratio.toFixed(2)}×`);
  return { rows, medians, ratios, runs };
}

/** The AWS model from each Sluice mode's medians on the largest row count that measured server CPU. */
function modelFromComparisons(comparisons: Comparison[], options: BenchOptions) {
  const c = [...comparisons]
    .reverse()
    .find((x) => Object.keys(x.medians).some((t) => t.startsWith('sluice-')));
  if (!c) return [];
  return Object.values(c.medians)
    .filter((m) => m.tool.startsWith('sluice-') && Number.isFinite(m.serverCpuUsPerRow))
    .map((m) => {
      const data = benchData(options, c.rows);
      return scaleModel({
        source: `${m.tool}, ${c.rows.toLocaleString('en-US')} rows`,
        serverCpuUsPerRow: m.serverCpuUsPerRow,
        chunkCpuUsPerRow: (m.loaderCpuSeconds / m.loaded) * 1e6,
        bytesPerRow: data.rawBytes / data.rows,
        chunkBytes: parseByteSize(options.chunkBytes),
        lambdaMemoryMb: options.lambdaMemoryMb,
      });
    });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runBench(parseBenchArgs(process.argv.slice(2)));
}
