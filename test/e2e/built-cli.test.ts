import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBuildFresh } from '../../bin/build-freshness.mjs';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';
import { runCli } from '../support/cli.js';
import { exampleSpec, tableFingerprint } from '../support/pipelines.js';

const root = resolve('.');

/**
 * The CLI as `npm install` leaves it: JavaScript built ahead of time into dist/ (bin/build.mjs, npm
 * `prepare`), run only while no source it was built from has changed. These runs go through dist/,
 * including the chunk-worker threads (--threads) and the Fargate route's container entry.
 */
describe('the ahead-of-time build', () => {
  beforeAll(() => {
    if (!isBuildFresh(root)) execFileSync(process.execPath, ['bin/build.mjs', '--quiet'], { cwd: root });
  });

  it('is fresh after a build and stale once a file it was built from changes', () => {
    // Prepare: a build record of one input, older than the build.
    const copy = mkdtempSync(join(tmpdir(), 'sluice-build-'));
    mkdirSync(join(copy, 'dist'));
    writeFileSync(join(copy, 'dist', 'build.json'), JSON.stringify({ builtAt: 1_000, inputs: ['a.ts'] }));
    writeFileSync(join(copy, 'a.ts'), '');
    utimesSync(join(copy, 'a.ts'), 0, 0);

    // Act + assess
    expect(isBuildFresh(root)).toBe(true);
    expect(isBuildFresh(copy)).toBe(true);
    utimesSync(join(copy, 'a.ts'), 2, 2); // seconds: newer than builtAt (1,000 ms)
    expect(isBuildFresh(copy)).toBe(false);
    expect(isBuildFresh(join(copy, 'nowhere'))).toBe(false);
  });

  it('prints the help from the build', async () => {
    const result = await runCli(['--help']);

    expect(result.stdout).toContain('Usage: sluice');
    expect(result.stdout).toContain('redrive');
    expect(result.code).toBe(0);
  });
});

describe.each(warehouseTargets.filter((t) => t.name === 'pg'))('the built CLI on $name', (target) => {
  let threads: TestWarehouse;
  let fargate: TestWarehouse;

  beforeAll(async () => {
    threads = await target.open();
    fargate = await target.open();
  });
  afterAll(async () => {
    await threads.dispose();
    await fargate.dispose();
  });

  it('loads the example through worker threads and through the Fargate route, the same table', async () => {
    // Prepare
    const viaThreads = exampleSpec();
    const viaFargate = exampleSpec([
      ['compute: auto', 'compute: fargate'],
      ['targetBytes: 32KiB', 'targetBytes: 128KiB'],
    ]);

    // Act
    const a = await runCli(
      ['run', viaThreads.specFile, '--threads', '--json', '--home', join(viaThreads.dir, '.sluice')],
      { DATABASE_URL: threads.url },
    );
    const b = await runCli(
      ['run', viaFargate.specFile, '--json', '--home', join(viaFargate.dir, '.sluice')],
      {
        DATABASE_URL: fargate.url,
      },
    );

    // Assess
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const summaryA = JSON.parse(a.stdout) as { read: number; loaded: number };
    const summaryB = JSON.parse(b.stdout) as { read: number; loaded: number };
    expect(summaryA).toMatchObject({ read: 4806, loaded: 4729 });
    expect(summaryB).toMatchObject({ read: 4806, loaded: 4729 });
    expect(await tableFingerprint(threads.wh, 'analytics.orders', 'order_id')).toEqual(
      await tableFingerprint(fargate.wh, 'analytics.orders', 'order_id'),
    );
  });
});
