import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultPoint } from '../../../functions/engine/load/index.js';
import { createFaultInjector } from '../../../functions/local/faults.js';
import { redriveRunLocally } from '../../../functions/local/redrive.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import type { TestWarehouse } from '../../integration/warehouse/targets.js';
import {
  cleanRunState,
  crashTarget,
  FAULT_SPEC,
  freshHome,
  resetDatabase,
  type TargetState,
  targetState,
} from './support.js';

/**
 * A step throws at each fault point. Thrown once, the state machine's Retry absorbs it; thrown every
 * time, the run fails (MarkFailed) and `redrive` finishes it. Either way the target must equal a clean
 * run's: same rows, same checksum, no duplicate keys, every file bookmarked once.
 */
describe(`a step that fails at a fault point, on ${crashTarget.name}`, () => {
  let clean: TargetState;
  let db: TestWarehouse;
  beforeAll(async () => {
    clean = await cleanRunState();
    expect(clean.rows).toBeGreaterThan(4000);
    db = await crashTarget.open();
  });
  afterAll(() => db?.dispose());

  /** Each case loads into its own schema-less fresh state: wipe what the last case left. */
  async function reset(): Promise<void> {
    await resetDatabase(db.wh);
  }

  const points: { point: FaultPoint; nth: number }[] = [
    { point: 'before-chunk-load', nth: 3 },
    { point: 'after-copy-before-commit', nth: 3 },
    { point: 'after-chunk-commit', nth: 3 },
    { point: 'mid-map', nth: 3 },
    { point: 'inside-run-commit', nth: 1 },
  ];

  it.each(points)(
    'retries through a single failure at $point and loads exactly a clean run',
    async ({ point, nth }) => {
      await reset();
      const faults = createFaultInjector([{ point, action: 'fail', nth }]);

      const result = await runPipelineLocally({
        specFile: FAULT_SPEC,
        home: freshHome('fail-once'),
        warehouse: db.wh,
        faults,
      });

      expect(faults.fired.map((f) => f.point)).toEqual([point]);
      expect(result.status).toBe('succeeded');
      expect(await targetState(db.wh)).toEqual(clean);
    },
  );

  it('completes although the chunk step fails after every chunk commit: each retry is a no-op', async () => {
    await reset();
    const faults = createFaultInjector([{ point: 'after-chunk-commit', action: 'fail-always', nth: 1 }]);

    const result = await runPipelineLocally({
      specFile: FAULT_SPEC,
      home: freshHome('no-op-retry'),
      warehouse: db.wh,
      faults,
    });

    expect(result.status).toBe('succeeded');
    expect(faults.fired.length).toBe(result.summary?.chunks);
    expect(await targetState(db.wh)).toEqual(clean);
  });

  it.each(points.filter((p) => p.point !== 'after-chunk-commit'))(
    'fails the run at $point, then redrive loads exactly a clean run',
    async ({ point, nth }) => {
      await reset();
      const home = freshHome('fail-redrive');
      const faults = createFaultInjector([{ point, action: 'fail-always', nth }]);

      const failed = await runPipelineLocally({ specFile: FAULT_SPEC, home, warehouse: db.wh, faults });
      expect(failed.status).toBe('failed');
      expect(failed.error).toContain(`injected fault at ${point}`);
      const before = await targetState(db.wh);
      expect(before.rows).toBe(0); // atomic runs: nothing of a failed run is visible
      const ledger = await db.wh.query<{ status: string; chunks: number }>(
        `SELECT status, (SELECT count(*)::int FROM sluice.run_chunks c WHERE c.run_id = r.run_id) AS chunks
         FROM sluice.runs r WHERE run_id = $1`,
        [failed.runId],
      );
      expect(ledger.rows[0]?.status).toBe('failed');

      const statuses: string[] = [];
      const redriven = await redriveRunLocally({
        runId: failed.runId!,
        home,
        warehouse: db.wh,
        onEvent: (e) => {
          if (e.type === 'chunk') statuses.push(e.status);
        },
      });

      expect(redriven.status).toBe('succeeded');
      expect(redriven.runId).toBe(failed.runId);
      // Chunks in the ledger were no-ops; only the others loaded.
      const already = ledger.rows[0]!.chunks;
      expect(statuses.filter((s) => s === 'already-loaded')).toHaveLength(already);
      expect(statuses.filter((s) => s === 'loaded')).toHaveLength(redriven.summary!.chunks - already);
      expect(await targetState(db.wh)).toEqual(clean);
    },
  );

  it('returns the recorded summary when the commit step fails after committing (a lost response)', async () => {
    await reset();
    const faults = createFaultInjector([{ point: 'after-run-commit', action: 'fail', nth: 1 }]);

    const result = await runPipelineLocally({
      specFile: FAULT_SPEC,
      home: freshHome('lost-response'),
      warehouse: db.wh,
      faults,
    });

    expect(faults.fired).toHaveLength(1);
    expect(result.status).toBe('succeeded');
    expect(result.summary?.loaded).toBe(clean.rows);
    expect(await targetState(db.wh)).toEqual(clean);
  });

  it('fails when redriving a run that already succeeded, and changes nothing', async () => {
    await reset();
    const home = freshHome('redrive-succeeded');
    const done = await runPipelineLocally({ specFile: FAULT_SPEC, home, warehouse: db.wh });

    await expect(redriveRunLocally({ runId: done.runId!, home, warehouse: db.wh })).rejects.toThrow(
      `run ${done.runId} already succeeded: nothing to redrive`,
    );
    expect(await targetState(db.wh)).toEqual(clean);
  });
});
