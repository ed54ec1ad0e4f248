import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBenchArgs, runBench } from '../../../bench/run.js';
import { TEST_DATABASE_URL } from '../warehouse/targets.js';

const IN_CI = process.env.CI === 'true';

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

// `npm run bench:ci` in a test, so the bench script cannot rot: 10k rows, every loader, one repeat,
// on a PostgreSQL the bench starts itself (--own-server: its server CPU is measurable wherever the
// test database runs, a CI service container included), settings copied from a database of its own.
// It needs the real PostgreSQL and its server programs; under CI=true an unreachable one fails.
const available = IN_CI || (await reachable(TEST_DATABASE_URL));
if (!available) console.warn(`bench smoke test skipped: no PostgreSQL at ${TEST_DATABASE_URL}`);

describe.runIf(available)('bench (10k rows, as bench:ci runs it)', () => {
  const database = `sluice_bench_${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${database}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the same rows three ways and reports rates, CPU, ratios, scale-out, saturation, the model and bundles', async () => {
    const options = parseBenchArgs([
      ...['--rows', '1e4', '--repeats', '1', '--workers', '1,2', '--threads', '--own-server', '--quiet'],
      ...[
        '--database-url',
        url.toString(),
        '--data-dir',
        join(dir, 'data'),
        '--out',
        join(dir, 'results.json'),
      ],
    ]);

    const result = await runBench(options);

    const [comparison] = result.comparisons;
    expect(Object.keys(comparison?.medians ?? {}).sort()).toEqual([
      'pgloader',
      'psql',
      'sluice-append',
      'sluice-append-threads',
      'sluice-upsert',
      'sluice-upsert-threads',
    ]);
    for (const m of Object.values(comparison?.medians ?? {})) {
      // Every loader loaded every good row (the bench checks the table's count against the generator's).
      expect(m.loaded).toBe(comparison?.runs[0]?.loaded);
      expect(m.rowsPerSecond).toBeGreaterThan(0);
      expect(m.peakRssMb).toBeGreaterThan(0);
      // The server's CPU over each load (its backends, exited ones included, and the CHECKPOINT after it)
      // and the machine's (loader + server) are measured, not left NaN.
      expect(m.serverCpuSeconds, m.tool).toBeGreaterThan(0);
      expect(Number.isFinite(m.serverCpuUsPerRow), m.tool).toBe(true);
      expect(m.loaderCpuSeconds, m.tool).toBeGreaterThan(0);
      expect(m.machineCpuSeconds, m.tool).toBeCloseTo(m.loaderCpuSeconds + m.serverCpuSeconds, 6);
      expect(Number.isFinite(m.hostBusySeconds), m.tool).toBe(true);
      const split = m.serverCpuSplit!;
      expect(split.load, m.tool).toBeGreaterThan(0);
      expect(split.vacuum + split.checkpoint, m.tool).toBeGreaterThanOrEqual(0);
    }
    for (const tool of ['sluice-append', 'sluice-upsert', 'pgloader']) {
      const ratio = comparison?.ratios[`${tool}/psql server CPU per row`];
      expect(Number.isFinite(ratio) && ratio! > 0, `${tool} server CPU per row vs psql: ${ratio}`).toBe(true);
    }
    expect(comparison?.ratios['sluice-append/psql']).toBeGreaterThan(0);
    expect(comparison?.ratios['sluice-upsert/pgloader']).toBeGreaterThan(0);
    expect(comparison?.ratios['sluice-append-threads/psql']).toBeGreaterThan(0);
    expect(result.scaleOut.map((s) => s.workers)).toEqual([1, 2]);
    // Saturation ran against the bench's own server, pinned to CPU 0, and measured its CPU.
    expect(result.saturation.map((s) => s.workers)).toEqual([1, 2]);
    for (const s of result.saturation) {
      expect(s.serverCpus).toBe('0');
      expect(s.median.loaded).toBe(comparison?.runs[0]?.loaded);
      expect(s.median.serverCpuSeconds).toBeGreaterThan(0);
      expect(s.serverCores).toBeGreaterThan(0);
      expect(Number.isFinite(s.chunkPhaseServerCores)).toBe(true);
      expect(Number.isFinite(s.chunkRowsPerSecond)).toBe(true);
    }
    // The AWS model, from each Sluice mode's measured CPU per row.
    expect(result.scaleModel.map((m) => m.source)).toEqual([
      'sluice-append, 10,000 rows',
      'sluice-append-threads, 10,000 rows',
      'sluice-upsert, 10,000 rows',
      'sluice-upsert-threads, 10,000 rows',
    ]);
    for (const m of result.scaleModel) {
      expect(m.rowsPerSecondPerAcu).toBeGreaterThan(0);
      expect(m.saturation.every((s) => Number.isFinite(s.concurrency) && s.concurrency > 0)).toBe(true);
      expect(m.per100MRows.totalUsd).toBeGreaterThan(0);
    }
    expect(result.bundles.map((b) => b.handler)).toContain('process-chunks');
    for (const b of result.bundles) expect(b.initMs).toBeGreaterThan(0);
  }, 300_000);
});
