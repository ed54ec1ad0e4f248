import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultPoint } from '../../../functions/engine/load/index.js';
import { redriveRunLocally } from '../../../functions/local/redrive.js';
import type { TestWarehouse } from '../../integration/warehouse/targets.js';
import { runCli } from '../../support/cli.js';
import {
  cleanRunState,
  crashTarget,
  FAULT_SPEC,
  freshHome,
  resetDatabase,
  runningRunId,
  type TargetState,
  targetState,
  waitFor,
} from './support.js';

const onPg = crashTarget.name === 'pg';
if (!onPg) console.warn('[die-and-redrive] SKIPPING: killing a process mid-run needs the PostgreSQL server');

/**
 * `sluice run` as a separate process, killed (exit 137) by SLUICE_FAULT at each fault point; then the
 * run is redriven, or a new run takes over. The target must equal a clean run's every time.
 */
describe.skipIf(!onPg)('a run whose process dies at a fault point, on pg', () => {
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

  const killRun = async (home: string, fault: string) =>
    runCli(['run', FAULT_SPEC, '--home', home, '--concurrency', '1'], {
      DATABASE_URL: db.url!,
      SLUICE_FAULT: fault,
    });

  const points: { point: FaultPoint; nth: number }[] = [
    { point: 'before-chunk-load', nth: 3 },
    { point: 'after-copy-before-commit', nth: 3 },
    { point: 'after-chunk-commit', nth: 3 },
    { point: 'mid-map', nth: 3 },
    { point: 'inside-run-commit', nth: 1 },
  ];

  it.each(points)(
    'redrives the killed run after dying at $point and loads exactly a clean run',
    async ({ point, nth }) => {
      const home = freshHome('die');
      const killed = await killRun(home, `${point}:die:${nth}`);
      expect(killed.stderr).toContain(`injected fault: dying at ${point}`);
      expect(killed.code).toBe(137);
      const runId = await runningRunId(db.wh);
      expect(runId).toBeDefined();
      expect((await targetState(db.wh)).rows).toBe(0);

      const redriven = await redriveRunLocally({ runId: runId!, home, warehouse: db.wh });

      expect(redriven.status).toBe('succeeded');
      expect(redriven.runId).toBe(runId);
      expect(await targetState(db.wh)).toEqual(clean);
    },
  );

  it('keeps the commit of a run that died after committing, before reporting back', async () => {
    const home = freshHome('die-after-commit');
    const killed = await killRun(home, 'after-run-commit:die');
    expect(killed.code).toBe(137);

    expect(await runningRunId(db.wh)).toBeUndefined();
    expect(await targetState(db.wh)).toEqual(clean);
    const again = await runCli(['run', FAULT_SPEC, '--home', home, '--json'], { DATABASE_URL: db.url! });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ loaded: 0, chunks: 0 });
    expect(await targetState(db.wh)).toEqual({ ...clean, succeededRuns: 2 });
  });

  it('starts over cleanly when a new run finds the killed one (takeover instead of redrive)', async () => {
    const home = freshHome('takeover');
    const killed = await killRun(home, 'after-copy-before-commit:die:4');
    expect(killed.code).toBe(137);
    const dead = await runningRunId(db.wh);

    const next = await runCli(['run', FAULT_SPEC, '--home', home, '--json'], { DATABASE_URL: db.url! });

    expect(next.code).toBe(0);
    const abandoned = await db.wh.query<{ status: string; error: string }>(
      'SELECT status, error FROM sluice.runs WHERE run_id = $1',
      [dead],
    );
    expect(abandoned.rows[0]?.status).toBe('abandoned');
    expect(abandoned.rows[0]?.error).toMatch(/is no longer alive/);
    expect(await targetState(db.wh)).toEqual(clean);
  });

  it('fails when asked to redrive a run whose process is still alive, naming it', async () => {
    const home = freshHome('live');
    const release = join(freshHome('release'), 'go');
    const live = runCli(['run', FAULT_SPEC, '--home', home, '--concurrency', '1'], {
      DATABASE_URL: db.url!,
      SLUICE_FAULT: 'before-chunk-load:delay:1',
      SLUICE_FAULT_DELAY_MS: '90000',
      SLUICE_FAULT_RELEASE_FILE: release,
    });
    const runId = await waitFor(() => runningRunId(db.wh), 60_000);

    await expect(redriveRunLocally({ runId, home, warehouse: db.wh })).rejects.toThrow(
      /pipeline "fault-orders" is locked by run .* \(holder local:/,
    );
    writeFileSync(release, '');

    expect((await live).code).toBe(0);
    expect(await targetState(db.wh)).toEqual(clean);
  });
});
