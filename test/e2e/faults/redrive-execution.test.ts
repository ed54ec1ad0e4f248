import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFaultInjector } from '../../../functions/local/faults.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import type { TestWarehouse } from '../../integration/warehouse/targets.js';
import {
  cleanRunState,
  crashTarget,
  FAULT_SPEC,
  freshHome,
  type TargetState,
  targetState,
} from './support.js';

/**
 * How a run is redriven in AWS (`sluice redrive <run> --stage s --pipeline p`): a NEW execution of the
 * whole state machine with `{ redrive: { runId } }`, whose Prepare resumes the failed run instead of
 * planning one. Step Functions' own RedriveExecution would restart at the Fail state after MarkFailed.
 */
describe(`redriving a failed run with a new execution, on ${crashTarget.name}`, () => {
  let db: TestWarehouse;
  let clean: TargetState;
  beforeAll(async () => {
    clean = await cleanRunState();
    db = await crashTarget.open();
  });
  afterAll(() => db?.dispose());

  it('resumes the same run through Prepare, loads only the missing chunks, and commits it', async () => {
    const home = freshHome('redrive-execution');
    const faults = createFaultInjector([{ point: 'mid-map', action: 'fail-always', nth: 3 }]);
    const failed = await runPipelineLocally({ specFile: FAULT_SPEC, home, warehouse: db.wh, faults });
    expect(failed.status).toBe('failed');
    const inLedger = await db.wh.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM sluice.run_chunks WHERE run_id = $1',
      [failed.runId],
    );
    const statuses: string[] = [];

    const redriven = await runPipelineLocally({
      specFile: FAULT_SPEC,
      home,
      warehouse: db.wh,
      input: { redrive: { runId: failed.runId } },
      onEvent: (e) => {
        if (e.type === 'chunk') statuses.push(e.status);
      },
    });

    expect(redriven.error).toBeUndefined();
    expect(redriven.status).toBe('succeeded');
    expect(redriven.runId).toBe(failed.runId);
    expect(statuses.filter((s) => s === 'already-loaded')).toHaveLength(inLedger.rows[0]!.n);
    expect(await targetState(db.wh)).toEqual(clean);
    const runs = await db.wh.query<{ status: string }>('SELECT status FROM sluice.runs ORDER BY started_at');
    expect(runs.rows.map((r) => r.status)).toEqual(['succeeded']);
  });

  it('fails with a clear message when the run to redrive does not exist', async () => {
    const result = await runPipelineLocally({
      specFile: FAULT_SPEC,
      home: freshHome('redrive-missing'),
      warehouse: db.wh,
      input: { redrive: { runId: '00000000-0000-4000-8000-000000000000' } },
    });

    expect(result.status).toBe('failed');
    expect(result.error).toContain('no run 00000000-0000-4000-8000-000000000000');
  });
});
