// The pipeline lock: starting, resuming and failing a run, its lease, and taking over from a stale holder.

import { appendAudit } from '../audit/log.js';
import { quoteQualified } from '../ports/sql.js';
import type { Warehouse, WarehouseTx } from '../ports/warehouse.js';
import type { RunStatus } from '../types.js';
import { PipelineLockedError, RunStateError } from './errors.js';
import { assertRunId, iso, lockRun, stagingTableName } from './run-row.js';

// ---------------------------------------------------------------------------------------------------
// Starting a run: the pipeline lock

export interface BeginRunInput {
  runId: string;
  pipeline: string;
  specVersion: number;
  specHash: string;
  /** What started the run (schedule, S3 event, manual): stored as JSON for history. */
  trigger: unknown;
  fullRefresh: boolean;
  /** Who runs it, e.g. `sfn:<execution arn>` or `local:<host>:<pid>`: shown when the lock is refused. */
  holder: string;
  /** How long the lock holds without renewal; a run past it can be taken over. */
  leaseSeconds: number;
  /** Says whether a holder still lives (e.g. a local pid or an execution's status); false allows takeover. */
  isHolderAlive?: (holder: string) => boolean | Promise<boolean>;
}

/** A run this call marked abandoned because it held the lock but was dead or past its lease. */
export interface AbandonedRun {
  runId: string;
  holder: string;
  reason: string;
}

export interface BeginRunResult {
  runId: string;
  /** ISO 8601. */
  startedAt: string;
  /** True when the run was already started by an earlier call (a retried Prepare): nothing changed but the lease. */
  alreadyStarted: boolean;
  abandoned: AbandonedRun[];
}

/**
 * Records a new `running` run and takes the pipeline's lock, in one transaction. A lock held by a
 * running run whose lease has not expired and whose holder is not known dead is refused; otherwise
 * that run is marked `abandoned` (its staging table dropped) and the lock taken over.
 * Idempotent for the same runId while it is running.
 *
 * @throws PipelineLockedError naming the running run, its holder and since when.
 */
export async function beginRun(wh: Warehouse, input: BeginRunInput): Promise<BeginRunResult> {
  assertRunId(input.runId);
  if (!(input.leaseSeconds > 0)) throw new Error('leaseSeconds must be positive');
  return wh.transaction(async (tx) => {
    const lock = await lockPipeline(tx, input.pipeline);
    const existing = await tx.query<{ status: RunStatus; started_at: Date; pipeline: string }>(
      'SELECT status, started_at, pipeline FROM sluice.runs WHERE run_id = $1 FOR UPDATE',
      [input.runId],
    );
    const prior = existing.rows[0];
    if (prior) {
      if (prior.status !== 'running' || prior.pipeline !== input.pipeline || lock.run_id !== input.runId) {
        const status = prior.status === 'running' ? 'running without the pipeline lock' : prior.status;
        throw new RunStateError(
          input.runId,
          status,
          `start run ${input.runId} of pipeline "${input.pipeline}" again`,
        );
      }
      await holdLock(tx, input.pipeline, input.runId, input.holder, input.leaseSeconds);
      return { runId: input.runId, startedAt: iso(prior.started_at), alreadyStarted: true, abandoned: [] };
    }
    const abandoned = await takeOverIfStale(tx, lock, input);
    const inserted = await tx.query<{ started_at: Date }>(
      `INSERT INTO sluice.runs (run_id, pipeline, status, spec_version, spec_hash, trigger, full_refresh, holder)
       VALUES ($1, $2, 'running', $3, $4, $5::jsonb, $6, $7) RETURNING started_at`,
      [
        input.runId,
        input.pipeline,
        input.specVersion,
        input.specHash,
        JSON.stringify(input.trigger ?? {}),
        input.fullRefresh,
        input.holder,
      ],
    );
    await holdLock(tx, input.pipeline, input.runId, input.holder, input.leaseSeconds);
    await appendAudit(tx, {
      kind: 'run.started',
      pipeline: input.pipeline,
      runId: input.runId,
      detail: {
        specVersion: input.specVersion,
        specHash: input.specHash,
        fullRefresh: input.fullRefresh,
        holder: input.holder,
        abandoned: abandoned.map((a) => a.runId),
      },
    });
    return {
      runId: input.runId,
      startedAt: iso(inserted.rows[0]!.started_at),
      alreadyStarted: false,
      abandoned,
    };
  });
}

export interface ResumeRunInput {
  runId: string;
  holder: string;
  leaseSeconds: number;
  isHolderAlive?: (holder: string) => boolean | Promise<boolean>;
}

/**
 * Redrive: puts a `failed` run back to `running` under the pipeline lock (same rules as beginRun),
 * keeping its ledger and staging table so only the missing chunks load. Idempotent while running.
 */
export async function resumeRun(wh: Warehouse, input: ResumeRunInput): Promise<BeginRunResult> {
  assertRunId(input.runId);
  return wh.transaction(async (tx) => {
    const found = await tx.query<{ pipeline: string; status: RunStatus; started_at: Date }>(
      'SELECT pipeline, status, started_at FROM sluice.runs WHERE run_id = $1',
      [input.runId],
    );
    const run = found.rows[0];
    if (!run || (run.status !== 'failed' && run.status !== 'running')) {
      throw new RunStateError(input.runId, run?.status, 'resume the run (only a failed run can be redriven)');
    }
    const lock = await lockPipeline(tx, run.pipeline);
    if (run.status === 'running' && lock.run_id === input.runId) {
      // The run still holds its lock: resume it only from its own holder, or when that holder is gone
      // (a killed process, an expired lease); a live holder means the run is not ours to take.
      const holder = lock.holder ?? '';
      if (holder !== input.holder && !lock.expired && (await input.isHolderAlive?.(holder)) !== false)
        throw new PipelineLockedError(run.pipeline, input.runId, holder, lock.acquired_at!, lock.expires_at!);
      await tx.query('UPDATE sluice.runs SET holder = $2 WHERE run_id = $1', [input.runId, input.holder]);
      await holdLock(tx, run.pipeline, input.runId, input.holder, input.leaseSeconds);
      await appendAudit(tx, {
        kind: 'run.redriven',
        pipeline: run.pipeline,
        runId: input.runId,
        detail: { from: 'running', previousHolder: holder, holder: input.holder },
      });
      return {
        runId: input.runId,
        startedAt: iso(run.started_at),
        alreadyStarted: holder === input.holder,
        abandoned: [],
      };
    }
    const abandoned = await takeOverIfStale(tx, lock, { ...input, pipeline: run.pipeline });
    await tx.query(
      `UPDATE sluice.runs SET status = 'running', finished_at = NULL, error = NULL, holder = $2
        WHERE run_id = $1 AND status IN ('failed', 'running')`,
      [input.runId, input.holder],
    );
    await holdLock(tx, run.pipeline, input.runId, input.holder, input.leaseSeconds);
    await appendAudit(tx, {
      kind: 'run.redriven',
      pipeline: run.pipeline,
      runId: input.runId,
      detail: { from: run.status, holder: input.holder },
    });
    return { runId: input.runId, startedAt: iso(run.started_at), alreadyStarted: false, abandoned };
  });
}

/** Extends the running run's lease; false when it no longer holds the lock. */
export async function renewLease(wh: Warehouse, runId: string, leaseSeconds: number): Promise<boolean> {
  const res = await wh.query(
    `UPDATE sluice.pipeline_locks SET expires_at = greatest(expires_at, now() + make_interval(secs => $2))
      WHERE run_id = $1`,
    [runId, leaseSeconds],
  );
  return res.rowCount === 1;
}

export interface LockRow {
  run_id: string | null;
  holder: string | null;
  acquired_at: Date | null;
  expires_at: Date | null;
  expired: boolean | null;
  status: RunStatus | null;
}

/** Row-locks the pipeline's lock row (creating it the first time) for the rest of the transaction. */
export async function lockPipeline(tx: WarehouseTx, pipeline: string): Promise<LockRow> {
  await tx.query(
    'INSERT INTO sluice.pipeline_locks (pipeline) VALUES ($1) ON CONFLICT (pipeline) DO NOTHING',
    [pipeline],
  );
  const { rows } = await tx.query<Omit<LockRow, 'status'>>(
    `SELECT run_id, holder, acquired_at, expires_at, expires_at <= clock_timestamp() AS expired
       FROM sluice.pipeline_locks
      WHERE pipeline = $1
        FOR UPDATE`,
    [pipeline],
  );
  const lock = rows[0]!;
  if (!lock.run_id) return { ...lock, status: null };
  // The holder's run is read by a statement of its own, after the row lock is ours. Joined into the
  // locking SELECT, a run inserted by the transaction we waited for is invisible to that statement's
  // snapshot (READ COMMITTED re-checks only the locked row): its status read as NULL, the lock looked
  // free, and the next statement marked that fresh run abandoned (seen in a burst of six uploads).
  const run = await tx.query<{ status: RunStatus }>('SELECT status FROM sluice.runs WHERE run_id = $1', [
    lock.run_id,
  ]);
  return { ...lock, status: run.rows[0]?.status ?? null };
}

async function takeOverIfStale(
  tx: WarehouseTx,
  lock: LockRow,
  input: { runId: string; pipeline: string; isHolderAlive?: BeginRunInput['isHolderAlive'] },
): Promise<AbandonedRun[]> {
  let lockReason: string | undefined;
  if (lock.run_id && lock.run_id !== input.runId && lock.status === 'running') {
    const holder = lock.holder ?? '';
    if (lock.expired) lockReason = `its lease expired at ${lock.expires_at?.toISOString()}`;
    else if ((await input.isHolderAlive?.(holder)) === false)
      lockReason = `its holder ${holder} is no longer alive`;
    else
      throw new PipelineLockedError(input.pipeline, lock.run_id, holder, lock.acquired_at!, lock.expires_at!);
  }
  // Every other running run of the pipeline is stale now (normally just the lock's, if any).
  const stale = await tx.query<{ run_id: string; holder: string }>(
    `SELECT run_id, holder FROM sluice.runs
      WHERE pipeline = $1 AND status = 'running' AND run_id <> $2 FOR UPDATE`,
    [input.pipeline, input.runId],
  );
  const abandoned: AbandonedRun[] = [];
  for (const run of stale.rows) {
    const why = run.run_id === lock.run_id && lockReason ? lockReason : 'it did not hold the pipeline lock';
    const reason = `abandoned: ${why}; run ${input.runId} took over the pipeline`;
    await tx.query(
      `UPDATE sluice.runs SET status = 'abandoned', error = $2, finished_at = greatest(now(), started_at)
        WHERE run_id = $1`,
      [run.run_id, reason],
    );
    await tx.query(`DROP TABLE IF EXISTS ${quoteQualified(stagingTableName(run.run_id))}`);
    await tx.query(`DROP TABLE IF EXISTS ${quoteQualified(`${stagingTableName(run.run_id)}_keys`)}`);
    abandoned.push({ runId: run.run_id, holder: run.holder, reason });
  }
  return abandoned;
}

async function holdLock(
  tx: WarehouseTx,
  pipeline: string,
  runId: string,
  holder: string,
  leaseSeconds: number,
) {
  await tx.query(
    `UPDATE sluice.pipeline_locks
        SET run_id = $2, holder = $3,
            acquired_at = CASE WHEN run_id = $2 THEN acquired_at ELSE now() END,
            expires_at = now() + make_interval(secs => $4)
      WHERE pipeline = $1`,
    [pipeline, runId, holder, leaseSeconds],
  );
}

export async function releaseLock(tx: WarehouseTx, runId: string): Promise<void> {
  await tx.query(
    `UPDATE sluice.pipeline_locks SET run_id = NULL, holder = NULL, acquired_at = NULL, expires_at = NULL
      WHERE run_id = $1`,
    [runId],
  );
}

// ---------------------------------------------------------------------------------------------------
// Failing

/**
 * Marks a running run failed with the error and releases its lock, keeping its ledger and staging
 * table for a redrive. Idempotent; a run that already finished keeps its status.
 *
 * @returns the run's status after the call, or undefined when there is no such run.
 */
export async function failRun(wh: Warehouse, runId: string, error: string): Promise<RunStatus | undefined> {
  return wh.transaction(async (tx) => {
    const run = await lockRun(tx, runId, 'update');
    if (!run) return undefined;
    if (run.status === 'running') {
      await tx.query(
        `UPDATE sluice.runs SET status = 'failed', error = $2, finished_at = greatest(now(), started_at)
          WHERE run_id = $1`,
        [runId, error || 'failed (no error message)'],
      );
      await releaseLock(tx, runId);
      await appendAudit(tx, {
        kind: 'run.failed',
        pipeline: run.pipeline,
        runId,
        detail: { error: (error || 'failed (no error message)').slice(0, 2000) },
      });
      return 'failed';
    }
    return run.status;
  });
}
