import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import type { TestWarehouse } from '../../integration/warehouse/targets.js';
import { runCli } from '../../support/cli.js';
import {
  cleanRunState,
  crashTarget,
  FAULT_SPEC,
  freshHome,
  plannedRunId,
  resetDatabase,
  type TargetState,
  targetState,
  waitFor,
} from './support.js';

const onPg = crashTarget.name === 'pg';
if (!onPg) console.warn('[overlapping-triggers] SKIPPING: two processes need the PostgreSQL server');

describe.skipIf(!onPg)('duplicate and overlapping triggers, on pg', () => {
  let clean: TargetState;
  let db: TestWarehouse;
  beforeAll(async () => {
    clean = await cleanRunState();
    db = await crashTarget.open();
  });
  afterAll(() => db?.dispose());
  beforeEach(async () => {
    await resetDatabase(db.wh);
  });

  it('loads the same S3 event delivered three times once', async () => {
    const event = { trigger: { type: 's3', bucket: 'landing', key: 'orders-2026-01.csv', etag: '"abc"' } };
    const results = [];
    for (let i = 0; i < 3; i++)
      results.push(
        await runPipelineLocally({
          specFile: FAULT_SPEC,
          home: freshHome('s3-dup'),
          warehouse: db.wh,
          input: event,
        }),
      );

    expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(results.map((r) => r.summary?.loaded)).toEqual([clean.rows, 0, 0]);
    expect(results.map((r) => r.summary?.skippedSources)).toEqual([0, 6, 6]);
    expect(await targetState(db.wh)).toEqual({ ...clean, succeededRuns: 3 });
  });

  it('refuses a second `sluice run` while the first is loading, with a message naming the first', async () => {
    // The first run holds at its first chunk until the second has been answered.
    const release = join(freshHome('release'), 'go');
    const first = runCli(['run', FAULT_SPEC, '--home', freshHome('first'), '--concurrency', '1'], {
      DATABASE_URL: db.url!,
      SLUICE_FAULT: 'before-chunk-load:delay:1',
      SLUICE_FAULT_DELAY_MS: '90000',
      SLUICE_FAULT_RELEASE_FILE: release,
    });
    const firstRun = await waitFor(() => plannedRunId(db.wh), 60_000);

    const second = await runCli(['run', FAULT_SPEC, '--home', freshHome('second')], {
      DATABASE_URL: db.url!,
    });
    writeFileSync(release, '');

    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`pipeline "fault-orders" is locked by run ${firstRun} (holder local:`);
    expect(second.stderr).toContain('Wait for it to finish, or stop it first.');
    expect((await first).code).toBe(0);
    expect(await targetState(db.wh)).toEqual(clean);
  });

  it('never lets two runs started together both load', async () => {
    const [a, b] = await Promise.all(
      ['a', 'b'].map((tag) =>
        runCli(['run', FAULT_SPEC, '--home', freshHome(tag), '--json'], { DATABASE_URL: db.url! }),
      ),
    );

    const loaded = [a!, b!]
      .filter((r) => r.code === 0)
      .map((r) => (JSON.parse(r.stdout) as { loaded: number }).loaded);
    const refused = [a!, b!].filter((r) => r.code !== 0);
    // Either one is refused by the lock, or the later one finds every file bookmarked: never two loads.
    expect(loaded.filter((n) => n > 0)).toEqual([clean.rows]);
    for (const r of refused) expect(r.stderr).toMatch(/pipeline "fault-orders" is locked by run/);
    expect(await targetState(db.wh)).toMatchObject({
      rows: clean.rows,
      checksum: clean.checksum,
      duplicateKeys: 0,
    });
  });
});
