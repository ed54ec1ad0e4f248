import type { Readable } from 'node:stream';
import { quoteIdent, quoteQualified } from '../../adapters/warehouse/sql.js';
import type { Warehouse, WarehouseTx } from '../../adapters/warehouse/types.js';
import { appendAudit } from '../audit/log.js';
import type { DestinationSpec, PipelineSpec } from '../spec/schema.js';
import type { ChunkCounts, ChunkRoute, RunStatus } from '../types.js';
import {
  DuplicateKeyError,
  IncompleteRunError,
  PipelineLockedError,
  QualityCheckError,
  RunStateError,
  StagedChunkMismatchError,
} from './errors.js';
import type { FaultInjector } from './fault-points.js';
import {
  deleteUnitsSql,
  KEY_REPEATS_IN_RUN,
  mergeSql,
  mergeWithoutDedupeSql,
  ORD_COLUMN,
  SEQ_COLUMN,
} from './merge-sql.js';
import { STAGING_SCHEMA } from './migrations.js';
import {
  fillNewPartitions,
  insertNewPartitionsThroughParent,
  lockEmptyPartitions,
  SWAP_DETACH_LOCK_TIMEOUT,
  SWAP_LOCK_TIMEOUT,
  type SwapCandidate,
  swapCandidates,
  swapInEmptyPartitions,
  unitsPredicate,
  withLockTimeout,
} from './partition-swap.js';
import { preparePartitions, primaryKeyColumns, type StagedPartition, targetTableName } from './target.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function assertRunId(runId: string): void {
  if (!UUID.test(runId)) throw new Error(`run id must be a UUID, got ${JSON.stringify(runId)}`);
}

/** `sluice_staging.run_<run id without dashes>`: the run's staging table (unquoted; safe as written). */
export function stagingTableName(runId: string): string {
  assertRunId(runId);
  return `${STAGING_SCHEMA}.run_${runId.replaceAll('-', '').toLowerCase()}`;
}

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

/**
 * Makes a resumed run's ledger tell the truth about its staging table before chunks load again: a
 * chunk whose rows are not all in staging (the table is UNLOGGED, so a database crash empties it; or it
 * was dropped) loses its ledger row and its staged rows, so it loads again, exactly once.
 *
 * @returns the chunk ids that will load again.
 */
export async function reconcileStagingWithLedger(wh: Warehouse, runId: string): Promise<string[]> {
  const staging = stagingTableName(runId);
  return wh.transaction(async (tx) => {
    const run = await lockRun(tx, runId, 'update');
    if (run?.status !== 'running') throw new RunStateError(runId, run?.status, 'reconcile its staging table');
    const exists = await tx.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [
      quoteQualified(staging),
    ]);
    const { rows } = exists.rows[0]?.found
      ? await tx.query<{ chunk_id: string; seq: number }>(
          `SELECT c.chunk_id, c.seq FROM sluice.run_chunks c
             LEFT JOIN (SELECT ${quoteIdent(SEQ_COLUMN)} AS seq, count(*) AS n FROM ${quoteQualified(staging)}
                         GROUP BY 1) s ON s.seq = c.seq
            WHERE c.run_id = $1 AND coalesce(s.n, 0) <> c.rows_staged`,
          [runId],
        )
      : await tx.query<{ chunk_id: string; seq: number }>(
          'SELECT chunk_id, seq FROM sluice.run_chunks WHERE run_id = $1',
          [runId],
        );
    if (rows.length === 0) return [];
    if (exists.rows[0]?.found) {
      await tx.query(
        `DELETE FROM ${quoteQualified(staging)} WHERE ${quoteIdent(SEQ_COLUMN)} = ANY($1::int[])`,
        [rows.map((r) => r.seq)],
      );
    }
    await tx.query('DELETE FROM sluice.run_chunks WHERE run_id = $1 AND chunk_id = ANY($2::text[])', [
      runId,
      rows.map((r) => r.chunk_id),
    ]);
    return rows.map((r) => r.chunk_id);
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

interface LockRow {
  run_id: string | null;
  holder: string | null;
  acquired_at: Date | null;
  expires_at: Date | null;
  expired: boolean | null;
  status: RunStatus | null;
}

/** Row-locks the pipeline's lock row (creating it the first time) for the rest of the transaction. */
async function lockPipeline(tx: WarehouseTx, pipeline: string): Promise<LockRow> {
  await tx.query(
    'INSERT INTO sluice.pipeline_locks (pipeline) VALUES ($1) ON CONFLICT (pipeline) DO NOTHING',
    [pipeline],
  );
  const { rows } = await tx.query<LockRow>(
    `SELECT l.run_id, l.holder, l.acquired_at, l.expires_at, l.expires_at <= clock_timestamp() AS expired, r.status
       FROM sluice.pipeline_locks l LEFT JOIN sluice.runs r ON r.run_id = l.run_id
      WHERE l.pipeline = $1
        FOR UPDATE OF l`,
    [pipeline],
  );
  return rows[0]!;
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

async function releaseLock(tx: WarehouseTx, runId: string): Promise<void> {
  await tx.query(
    `UPDATE sluice.pipeline_locks SET run_id = NULL, holder = NULL, acquired_at = NULL, expires_at = NULL
      WHERE run_id = $1`,
    [runId],
  );
}

/** Locks the run row: shared by chunk loads, exclusive for commit and fail, so they never interleave. */
async function lockRun(tx: WarehouseTx, runId: string, mode: 'share' | 'update') {
  const { rows } = await tx.query<RunRow>(
    `SELECT * FROM sluice.runs WHERE run_id = $1 FOR ${mode === 'share' ? 'SHARE' : 'UPDATE'}`,
    [runId],
  );
  return rows[0];
}

// ---------------------------------------------------------------------------------------------------
// Planning and staging

export interface RunPlan {
  chunkCount: number;
  /** Source units (files) skipped because an earlier run loaded them. */
  skippedSources: number;
}

/** Records the plan of a running run. */
export async function recordPlan(wh: Warehouse, runId: string, plan: RunPlan): Promise<void> {
  const res = await wh.query(
    `UPDATE sluice.runs SET chunk_count = $2, skipped_sources = $3, planned_at = now()
      WHERE run_id = $1 AND status = 'running'`,
    [runId, plan.chunkCount, plan.skippedSources],
  );
  if (res.rowCount !== 1)
    throw new RunStateError(runId, (await getRun(wh, runId))?.status, 'record the plan');
}

/**
 * Creates (if missing) the run's staging table and returns its name, `sluice_staging.run_<hex>`.
 * Columns: the destination's, same types, all nullable, then `_sluice_seq int` (chunk seq) and
 * `_sluice_ord bigint` (row ordinal in the chunk). UNLOGGED: it is rebuilt from staged files on redrive.
 */
export async function createStagingTable(
  wh: Warehouse,
  runId: string,
  dest: DestinationSpec,
): Promise<string> {
  const name = stagingTableName(runId);
  const columns = Object.entries(dest.columns).map(([col, spec]) => `${quoteIdent(col)} ${spec.type}`);
  columns.push(`${quoteIdent(SEQ_COLUMN)} integer NOT NULL`, `${quoteIdent(ORD_COLUMN)} bigint NOT NULL`);
  await wh.transaction(async (tx) => {
    const run = await lockRun(tx, runId, 'share');
    if (run?.status !== 'running') throw new RunStateError(runId, run?.status, 'create the staging table');
    await tx.query(
      `CREATE UNLOGGED TABLE IF NOT EXISTS ${quoteQualified(name)} (\n  ${columns.join(',\n  ')}\n)`,
    );
  });
  return name;
}

// ---------------------------------------------------------------------------------------------------
// Loading chunks

/** The ledger's record of a loaded chunk, or undefined when it is not loaded: a cheap pre-check. */
export async function chunkLedgerEntry(
  wh: Warehouse,
  runId: string,
  chunkId: string,
): Promise<ChunkCounts | undefined> {
  const { rows } = await wh.query<LedgerCountsRow>(
    `SELECT rows_read, rows_staged, rows_rejected, rows_filtered FROM sluice.run_chunks
      WHERE run_id = $1 AND chunk_id = $2`,
    [runId, chunkId],
  );
  return rows[0] ? toChunkCounts(rows[0]) : undefined;
}

export interface LoadChunkInput {
  runId: string;
  chunk: { id: string; seq: number; route: ChunkRoute; bytes: number };
  /** Destination columns in the staged CSV's order, then `_sluice_seq`, `_sluice_ord`. */
  columns: string[];
  /**
   * Starts making the chunk's rows, called only once the chunk is claimed (a loaded chunk is never made
   * again): `rows` (PostgreSQL CSV without a header) streams into COPY as the rows are made, and `done`
   * settles after `rows` ends, with the chunk's final counts, once whatever else the chunk writes (its
   * staged file, its rejects) is written. Either failing rolls the load back.
   */
  produce: () => { rows: Readable; done: Promise<ChunkCounts> };
  /** Crash tests' fault points inside the transaction (EngineDeps.faults); absent in production. */
  faults?: FaultInjector;
}

export interface LoadChunkResult {
  status: 'loaded' | 'already-loaded';
  /** The ledger's counts (on already-loaded: those of the load that won). */
  counts: ChunkCounts;
}

/**
 * Loads one chunk's rows into the run's staging table exactly once: the ledger row and the rows commit
 * in one transaction, the ledger row first (claimed with zero counts, given the final ones after the
 * COPY). A concurrent duplicate waits on the ledger's primary key until the first commits, then finds it
 * and copies nothing.
 *
 * @throws StagedChunkMismatchError when the COPY's row count differs from counts.staged.
 * @throws RunStateError when the run is not running.
 */
export async function loadChunkExactlyOnce(wh: Warehouse, input: LoadChunkInput): Promise<LoadChunkResult> {
  const { runId, chunk } = input;
  const staging = stagingTableName(runId);
  const tail = input.columns.slice(-2);
  if (tail[0] !== SEQ_COLUMN || tail[1] !== ORD_COLUMN || input.columns.length < 3) {
    throw new Error(`columns must list the destination columns, then ${SEQ_COLUMN} and ${ORD_COLUMN}`);
  }
  return wh.transaction(async (tx) => {
    // FOR SHARE: many chunks load at once, but commit and fail (FOR UPDATE) wait for them.
    const run = await lockRun(tx, runId, 'share');
    if (run?.status !== 'running') throw new RunStateError(runId, run?.status, `load chunk ${chunk.id}`);
    const claimed = await tx.query(
      `INSERT INTO sluice.run_chunks
         (run_id, chunk_id, seq, route, rows_read, rows_staged, rows_rejected, rows_filtered, bytes)
       VALUES ($1, $2, $3, $4, 0, 0, 0, 0, $5)
       ON CONFLICT (run_id, chunk_id) DO NOTHING
       RETURNING chunk_id`,
      [runId, chunk.id, chunk.seq, chunk.route, chunk.bytes],
    );
    if (claimed.rowCount === 0) {
      const { rows } = await tx.query<LedgerCountsRow>(
        `SELECT rows_read, rows_staged, rows_rejected, rows_filtered FROM sluice.run_chunks
          WHERE run_id = $1 AND chunk_id = $2`,
        [runId, chunk.id],
      );
      return { status: 'already-loaded' as const, counts: toChunkCounts(rows[0]!) };
    }
    const { rows, done } = input.produce();
    // `done` may fail while the COPY still runs: settle it now, so that is never an unhandled rejection.
    const made = done.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    let copied: number;
    try {
      copied = await tx.copyCsv(staging, input.columns, rows);
    } catch (err) {
      rows.destroy();
      await made;
      throw err;
    }
    const outcome = await made;
    if (!outcome.ok) throw outcome.error;
    const counts = outcome.value;
    checkCountsAddUp(chunk.id, counts);
    if (copied !== counts.staged) throw new StagedChunkMismatchError(runId, chunk.id, copied, counts.staged);
    await tx.query(
      `UPDATE sluice.run_chunks
          SET rows_read = $3, rows_staged = $4, rows_rejected = $5, rows_filtered = $6
        WHERE run_id = $1 AND chunk_id = $2`,
      [runId, chunk.id, counts.read, counts.staged, counts.rejected, counts.filtered],
    );
    await input.faults?.hit('after-copy-before-commit', { runId, chunkId: chunk.id });
    return { status: 'loaded' as const, counts: { ...counts } };
  });
}

function checkCountsAddUp(chunkId: string, counts: ChunkCounts): void {
  if (counts.read !== counts.staged + counts.rejected + counts.filtered) {
    throw new Error(
      `chunk ${chunkId}: counts do not add up (read ${counts.read} ≠ staged ${counts.staged} + rejected ${counts.rejected} + filtered ${counts.filtered})`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// Committing

export interface SourceFile {
  key: string;
  etag: string;
  size: number;
}

export interface CommitRunInput {
  runId: string;
  spec: PipelineSpec;
  /** Files this run loaded: bookmarked in the commit so later runs skip them. */
  files: SourceFile[];
  /** Chunks the plan made; the ledger must hold exactly these many. */
  expectedChunks: number;
  /** New cursor state of an incremental source; stored in the commit when given. */
  cursor?: unknown;
  /**
   * Replace the whole target: the merge first deletes every row of the table (in the same
   * transaction, so readers see the old rows or the new, never neither). @default the run's full_refresh
   */
  fullRefresh?: boolean;
  /** Crash tests' fault points inside the transaction (EngineDeps.faults); absent in production. */
  faults?: FaultInjector;
}

/**
 * What a committed run did. `read`, `rejected` and `filtered` are summed from the ledger (`filtered`
 * counts only filter-rule drops); `deduplicated` rows were superseded by a later row of the same key
 * in this run; `loaded` rows are now in the target as this run wrote them (inserted, updated, or for
 * upsert already equal). Always: `read = loaded + rejected + filtered + deduplicated`.
 */
export interface CommitResult {
  runId: string;
  read: number;
  loaded: number;
  rejected: number;
  filtered: number;
  deduplicated: number;
  /** Rows inserted or changed; below `loaded` when an upsert found rows already equal. */
  written: number;
  /** Rows deleted before inserting: by replace-partitions in the partitions it replaced, or by a full refresh. */
  replaced: number;
  /** Partitions the run's rows touched, in date order. */
  partitions: string[];
  /** True when the run had already been committed (a retried commit): nothing was done again. */
  alreadyCommitted: boolean;
}

/**
 * Commits a run: checks completeness and quality, creates missing partitions (own short
 * transaction), then in ONE transaction merges staging into the target by mode, bookmarks the files,
 * moves the cursor, marks the run succeeded, releases the lock and drops the staging table.
 * Readers see all of the run or none of it. Idempotent: a succeeded run returns its recorded counts.
 * On failure nothing of the merge is visible and the run stays running: the caller calls failRun.
 *
 * Append with a key: keys that already exist in the target fail the run (DuplicateKeyError) rather
 * than being skipped or overwritten silently.
 *
 * @throws IncompleteRunError, QualityCheckError, DuplicateKeyError, RunStateError
 */
export async function commitRun(wh: Warehouse, input: CommitRunInput): Promise<CommitResult> {
  const { runId, spec } = input;
  const dest = spec.destination;
  const staging = stagingTableName(runId);

  // (a) the run and its ledger
  const run = await getRunRow(wh, runId);
  if (run?.status === 'succeeded') return recordedCommit(run);
  if (run?.status !== 'running') throw new RunStateError(runId, run?.status, 'commit');
  if (run.pipeline !== spec.name)
    throw new Error(`run ${runId} belongs to pipeline "${run.pipeline}", not "${spec.name}"`);
  const ledger = await ledgerTotals(wh, runId);
  if (ledger.chunks !== input.expectedChunks)
    throw new IncompleteRunError(runId, ledger.chunks, input.expectedChunks);
  const exists = await wh.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [
    quoteQualified(staging),
  ]);
  if (!exists.rows[0]?.found)
    throw new Error(`run ${runId} has no staging table ${staging}: call createStagingTable first`);

  // (b) reject ratio, from the ledger, before any work
  checkRejectRatio(spec, ledger);

  // (c) partitions, in their own short transaction so the merge holds no DDL locks
  const partitions = await preparePartitions(wh, dest, staging);

  // (d) the merge and everything that must move with it
  return wh.transaction(async (tx) => {
    const locked = await lockRun(tx, runId, 'update');
    if (locked?.status === 'succeeded') return recordedCommit(locked);
    if (locked?.status !== 'running') throw new RunStateError(runId, locked?.status, 'commit');
    // In-flight chunk loads held the run row FOR SHARE; now that we hold it, the ledger is final.
    const final = await ledgerTotals(tx, runId);
    if (final.chunks !== input.expectedChunks)
      throw new IncompleteRunError(runId, final.chunks, input.expectedChunks);

    const fullRefresh = input.fullRefresh ?? locked.full_refresh;
    const replace = fullRefresh ? 'all' : dest.mode === 'replace-partitions' ? partitions : undefined;
    let merged: MergeCounts & { swapped: string[]; replaced: number };
    try {
      merged = await mergeOrSwap(tx, dest, staging, partitions, replace);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') {
        throw new DuplicateKeyError(targetTableName(dest), (err as { detail?: string }).detail, {
          cause: err,
        });
      }
      throw err;
    }
    const replaced = merged.replaced;
    const stagedRows = Number(merged.staged_rows);
    if (stagedRows !== final.staged) {
      throw new Error(
        `run ${runId}: staging table holds ${stagedRows} rows but the ledger says ${final.staged} were staged; redrive the run`,
      );
    }
    const loaded = Number(merged.distinct_rows);
    const written = Number(merged.written);
    if (dest.mode !== 'upsert' && written !== loaded) {
      throw new Error(`run ${runId}: inserted ${written} rows, expected ${loaded}`);
    }
    checkRowLimits(spec, loaded);

    if (input.files.length > 0) await bookmarkFiles(tx, spec.name, runId, input.files);
    if (input.cursor !== undefined) {
      await tx.query(
        `INSERT INTO sluice.cursors (pipeline, state, run_id) VALUES ($1, $2::jsonb, $3)
         ON CONFLICT (pipeline) DO UPDATE SET state = EXCLUDED.state, run_id = EXCLUDED.run_id, updated_at = now()`,
        [spec.name, JSON.stringify(input.cursor), runId],
      );
    }
    const result: CommitResult = {
      runId,
      read: final.read,
      loaded,
      rejected: final.rejected,
      filtered: final.filtered,
      deduplicated: final.staged - loaded,
      written,
      replaced,
      partitions: partitions.map((p) => p.name),
      alreadyCommitted: false,
    };
    await tx.query(
      `UPDATE sluice.runs
          SET status = 'succeeded', finished_at = greatest(now(), started_at),
              chunk_count = coalesce(chunk_count, $2), planned_at = coalesce(planned_at, now()),
              rows_read = $3, rows_loaded = $4, rows_rejected = $5, rows_filtered = $6, rows_deduplicated = $7,
              partitions = $8::text[], summary = $9::jsonb
        WHERE run_id = $1`,
      [
        runId,
        input.expectedChunks,
        result.read,
        result.loaded,
        result.rejected,
        result.filtered,
        result.deduplicated,
        result.partitions,
        JSON.stringify({
          mode: dest.mode,
          fullRefresh,
          written,
          replaced,
          files: input.files.length,
          swapped: merged.swapped,
        }),
      ],
    );
    await releaseLock(tx, runId);
    await tx.query(`DROP TABLE IF EXISTS ${quoteQualified(staging)}`);
    await appendAudit(tx, {
      kind: 'run.committed',
      pipeline: spec.name,
      runId,
      detail: { read: result.read, loaded, rejected: result.rejected, partitions: result.partitions },
    });
    await input.faults?.hit('inside-run-commit', { runId });
    return result;
  });
}

interface MergeCounts {
  staged_rows: number;
  distinct_rows: number;
  written: number;
}

/**
 * The rows the commit replaces: every row of the target (a full refresh) or those of the given units
 * (replace-partitions); undefined when it replaces nothing.
 */
type Replace = 'all' | { start: string; end: string }[] | undefined;

/**
 * The merge, with the partitions the run fills that are empty swapped in rather than inserted into
 * where that gives the same outcome (partition-swap.ts): under a savepoint, writers kept out of the
 * target, the still-empty partitions get new tables written and indexed, what the run replaces is
 * deleted and the other partitions' rows merged as usual, then the new tables replace the empty
 * partitions. Any database error on that way rolls back to the savepoint, and the whole run is
 * deleted and merged as before. `swapped`: the partitions swapped in.
 */
async function mergeOrSwap(
  tx: WarehouseTx,
  dest: DestinationSpec,
  staging: string,
  partitions: StagedPartition[],
  replace: Replace,
): Promise<MergeCounts & { swapped: string[]; replaced: number }> {
  const emptied = replace === 'all';
  const deleteReplaced = async () => {
    if (replace === 'all')
      return (await tx.query(`DELETE FROM ${quoteQualified(targetTableName(dest))}`)).rowCount;
    if (!replace) return 0;
    const del = deleteUnitsSql(dest, replace);
    return (await tx.query(del.sql, del.params)).rowCount;
  };
  const mergeAll = async () => {
    const replaced = await deleteReplaced();
    return { ...(await merge(tx, dest, staging, emptied)), swapped: [], replaced };
  };
  const candidates = await swapCandidates(tx, dest, partitions);
  if (candidates.length === 0) return mergeAll();
  await tx.query('SAVEPOINT sluice_swap');
  try {
    const empty = await withLockTimeout(tx, SWAP_LOCK_TIMEOUT, () =>
      lockEmptyPartitions(tx, dest, candidates),
    );
    const { filled, rows } =
      empty.length > 0
        ? await fillNewPartitions(tx, dest, staging, empty, partitions.length)
        : { filled: [], rows: 0 };
    if (filled.length === 0) {
      await tx.query('ROLLBACK TO SAVEPOINT sluice_swap'); // and its locks
      return mergeAll();
    }
    // The swapped partitions are empty: deleting what the run replaces leaves them so.
    const replaced = await deleteReplaced();
    // The rest of staging is merged. When the new tables took every unit they took every staged row
    // (fillNewPartitions then reads all of staging): either way the counts check staging against the ledger.
    const rest =
      filled.length === partitions.length
        ? { staged_rows: 0, distinct_rows: 0, written: 0 }
        : await merge(tx, dest, staging, emptied, `(${unitsPredicate(dest, filled)}) IS NOT TRUE`);
    const swapped = await swapOrInsert(tx, dest, staging, filled);
    await tx.query('RELEASE SAVEPOINT sluice_swap');
    return {
      staged_rows: Number(rest.staged_rows) + rows,
      distinct_rows: Number(rest.distinct_rows) + rows,
      written: Number(rest.written) + rows,
      swapped,
      replaced,
    };
  } catch (err) {
    if (!swapMayFallBack(err)) throw err;
    await rollbackTo(tx, 'sluice_swap', err);
    return mergeAll();
  }
}

/**
 * Swaps the new tables in; when DETACH cannot have its lock in time (a reader holds the target), the
 * rows already written, checked and indexed go into the target through the parent instead (the
 * partitions are empty and locked: a plain INSERT is what the merge would do), so the work before is
 * not redone. Returns the partitions swapped in.
 */
async function swapOrInsert(
  tx: WarehouseTx,
  dest: DestinationSpec,
  staging: string,
  filled: SwapCandidate[],
): Promise<string[]> {
  await tx.query('SAVEPOINT sluice_detach');
  try {
    await withLockTimeout(tx, SWAP_DETACH_LOCK_TIMEOUT, () =>
      swapInEmptyPartitions(tx, dest, staging, filled),
    );
    await tx.query('RELEASE SAVEPOINT sluice_detach');
    return filled.map((p) => p.name);
  } catch (err) {
    if (!swapMayFallBack(err)) throw err;
    await rollbackTo(tx, 'sluice_detach', err);
    await insertNewPartitionsThroughParent(tx, dest, staging);
    return [];
  }
}

/**
 * Whether an error on the swap's way leaves the merge to do the work: errors of the data or the
 * objects (integrity 23, data 22, dependent objects 2B, syntax or access 42, lock or object state 55,
 * feature 0A, deadlock 40P01). Not a cancel or timeout (57), lost connection (08), resources (53),
 * internal error (XX) or anything without a SQLSTATE: those fail the commit as any merge error would.
 */
function swapMayFallBack(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|2B|42|55|0A)...$|^40P01$/.test(code);
}

/** ROLLBACK TO SAVEPOINT; if even that fails (the connection is gone), the original error is thrown. */
async function rollbackTo(tx: WarehouseTx, savepoint: string, original: unknown): Promise<void> {
  await tx.query(`ROLLBACK TO SAVEPOINT ${savepoint}`).catch(() => {
    throw original;
  });
}

/**
 * Runs the merge: first without the dedupe sort (most runs repeat no key; the sort was a third of the
 * commit), inside a savepoint; when the primary key says a key repeats, back to the savepoint and the
 * deduping merge. That needs the target's primary key to be exactly the spec's key (checked here
 * again): it is what makes a repeat fail instead of load twice. An upsert into an empty target (a first
 * load; a full refresh just deleted every row) inserts without ON CONFLICT.
 */
async function merge(
  tx: WarehouseTx,
  dest: DestinationSpec,
  staging: string,
  emptied: boolean,
  where?: string,
): Promise<MergeCounts> {
  const target = targetTableName(dest);
  const key = [...(dest.key ?? [])].sort().join(',');
  if (key && (await primaryKeyColumns(tx, target)).join(',') === key) {
    let empty = emptied;
    if (dest.mode === 'upsert' && !empty) {
      // Keep other writers out until commit, so the table stays empty (readers go on).
      await tx.query(`LOCK TABLE ${quoteQualified(target)} IN SHARE ROW EXCLUSIVE MODE`);
      const found = await tx.query<{ empty: boolean }>(
        `SELECT NOT EXISTS (SELECT 1 FROM ${quoteQualified(target)}) AS empty`,
      );
      empty = found.rows[0]!.empty;
    }
    const fast = mergeWithoutDedupeSql(dest, staging, empty, where);
    if (fast) {
      await tx.query('SAVEPOINT sluice_merge');
      try {
        const result = await tx.query<MergeCounts>(fast.sql);
        await tx.query('RELEASE SAVEPOINT sluice_merge');
        if (fast.counts === 'row') return result.rows[0]!;
        const n = result.rowCount;
        return { staged_rows: n, distinct_rows: n, written: n };
      } catch (err) {
        if (!KEY_REPEATS_IN_RUN.has((err as { code?: string }).code ?? '')) throw err;
        await tx.query('ROLLBACK TO SAVEPOINT sluice_merge');
      }
    }
  }
  return (await tx.query<MergeCounts>(mergeSql(dest, staging, where))).rows[0]!;
}

function checkRejectRatio(spec: PipelineSpec, ledger: LedgerTotals): void {
  const max = spec.quality.maxRejectRatio;
  const ratio = ledger.read === 0 ? 0 : ledger.rejected / ledger.read;
  if (ratio > max) {
    throw new QualityCheckError(
      'maxRejectRatio',
      ratio,
      max,
      `quality check failed: ${ledger.rejected} of ${ledger.read} rows rejected (${percent(ratio)}), more than quality.maxRejectRatio ${percent(max)}; nothing was loaded`,
    );
  }
}

function checkRowLimits(spec: PipelineSpec, loaded: number): void {
  const { minRows, maxRows } = spec.quality;
  if (minRows !== undefined && loaded < minRows) {
    throw new QualityCheckError(
      'minRows',
      loaded,
      minRows,
      `quality check failed: ${loaded} rows to load, fewer than quality.minRows ${minRows}; nothing was loaded`,
    );
  }
  if (maxRows !== undefined && loaded > maxRows) {
    throw new QualityCheckError(
      'maxRows',
      loaded,
      maxRows,
      `quality check failed: ${loaded} rows to load, more than quality.maxRows ${maxRows}; nothing was loaded`,
    );
  }
}

function percent(ratio: number): string {
  return `${Number((ratio * 100).toFixed(2))}%`;
}

async function bookmarkFiles(
  tx: WarehouseTx,
  pipeline: string,
  runId: string,
  files: SourceFile[],
): Promise<void> {
  await tx.query(
    `INSERT INTO sluice.file_bookmarks (pipeline, object_key, etag, size, run_id)
     SELECT $1, f.object_key, f.etag, f.size, $2
       FROM unnest($3::text[], $4::text[], $5::bigint[]) AS f(object_key, etag, size)
     ON CONFLICT (pipeline, object_key, etag) DO UPDATE
       SET size = EXCLUDED.size, run_id = EXCLUDED.run_id, loaded_at = now()`,
    [pipeline, runId, files.map((f) => f.key), files.map((f) => f.etag), files.map((f) => String(f.size))],
  );
}

function recordedCommit(run: RunRow): CommitResult {
  const summary = (run.summary ?? {}) as { written?: number; replaced?: number };
  const loaded = Number(run.rows_loaded);
  return {
    runId: run.run_id,
    read: Number(run.rows_read),
    loaded,
    rejected: Number(run.rows_rejected),
    filtered: Number(run.rows_filtered),
    deduplicated: Number(run.rows_deduplicated),
    written: summary.written ?? loaded,
    replaced: summary.replaced ?? 0,
    partitions: run.partitions ?? [],
    alreadyCommitted: true,
  };
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

// ---------------------------------------------------------------------------------------------------
// Reading

/** `${key}\u0000${etag}`: how loadedFiles identifies a file version. */
export function fileBookmarkKey(key: string, etag: string): string {
  return `${key}\u0000${etag}`;
}

/** Files (key and ETag) the pipeline's committed runs loaded, as fileBookmarkKey strings. */
export async function loadedFiles(wh: Warehouse, pipeline: string): Promise<Set<string>> {
  const { rows } = await wh.query<{ object_key: string; etag: string }>(
    'SELECT object_key, etag FROM sluice.file_bookmarks WHERE pipeline = $1',
    [pipeline],
  );
  return new Set(rows.map((r) => fileBookmarkKey(r.object_key, r.etag)));
}

/** A run as recorded in `sluice.runs`; counts are set once it succeeded. */
export interface RunRecord {
  runId: string;
  pipeline: string;
  status: RunStatus;
  specVersion: number;
  specHash: string;
  trigger: unknown;
  fullRefresh: boolean;
  holder: string;
  /** ISO 8601, like every timestamp here. */
  startedAt: string;
  plannedAt?: string;
  finishedAt?: string;
  chunkCount?: number;
  /** Chunks in the ledger now (progress of a running run). */
  chunksLoaded: number;
  skippedSources?: number;
  read?: number;
  loaded?: number;
  rejected?: number;
  filtered?: number;
  deduplicated?: number;
  partitions: string[];
  summary?: unknown;
  error?: string;
}

/** Runs, newest first, of one pipeline or all. */
export async function listRuns(
  wh: Warehouse,
  options: { pipeline?: string; limit?: number } = {},
): Promise<RunRecord[]> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 20), 1), 1000);
  const { rows } = await wh.query<RunRow>(
    `SELECT r.*, (SELECT count(*) FROM sluice.run_chunks c WHERE c.run_id = r.run_id) AS chunks_loaded
       FROM sluice.runs r
      WHERE ($1::text IS NULL OR r.pipeline = $1)
      ORDER BY r.started_at DESC, r.run_id
      LIMIT $2`,
    [options.pipeline ?? null, limit],
  );
  return rows.map(toRunRecord);
}

export async function getRun(wh: Warehouse, runId: string): Promise<RunRecord | undefined> {
  const row = await getRunRow(wh, runId);
  return row ? toRunRecord(row) : undefined;
}

async function getRunRow(wh: Warehouse, runId: string): Promise<RunRow | undefined> {
  if (!UUID.test(runId)) return undefined;
  const { rows } = await wh.query<RunRow>(
    `SELECT r.*, (SELECT count(*) FROM sluice.run_chunks c WHERE c.run_id = r.run_id) AS chunks_loaded
       FROM sluice.runs r WHERE r.run_id = $1`,
    [runId],
  );
  return rows[0];
}

interface RunRow {
  run_id: string;
  pipeline: string;
  status: RunStatus;
  spec_version: number;
  spec_hash: string;
  trigger: unknown;
  full_refresh: boolean;
  holder: string;
  started_at: Date;
  planned_at: Date | null;
  finished_at: Date | null;
  chunk_count: number | null;
  skipped_sources: number | null;
  rows_read: number | null;
  rows_loaded: number | null;
  rows_rejected: number | null;
  rows_filtered: number | null;
  rows_deduplicated: number | null;
  partitions: string[] | null;
  summary: unknown;
  error: string | null;
  chunks_loaded?: number;
}

function iso(timestamp: Date): string {
  return new Date(timestamp).toISOString();
}

function optionalNumber(value: number | string | null | undefined): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function toRunRecord(r: RunRow): RunRecord {
  const record: RunRecord = {
    runId: r.run_id,
    pipeline: r.pipeline,
    status: r.status,
    specVersion: Number(r.spec_version),
    specHash: r.spec_hash,
    trigger: r.trigger,
    fullRefresh: r.full_refresh,
    holder: r.holder,
    startedAt: iso(r.started_at),
    chunksLoaded: Number(r.chunks_loaded ?? 0),
    partitions: r.partitions ?? [],
  };
  const optional: Partial<RunRecord> = {
    plannedAt: r.planned_at ? iso(r.planned_at) : undefined,
    finishedAt: r.finished_at ? iso(r.finished_at) : undefined,
    chunkCount: optionalNumber(r.chunk_count),
    skippedSources: optionalNumber(r.skipped_sources),
    read: optionalNumber(r.rows_read),
    loaded: optionalNumber(r.rows_loaded),
    rejected: optionalNumber(r.rows_rejected),
    filtered: optionalNumber(r.rows_filtered),
    deduplicated: optionalNumber(r.rows_deduplicated),
    summary: r.summary ?? undefined,
    error: r.error ?? undefined,
  };
  for (const [k, v] of Object.entries(optional))
    if (v !== undefined) (record as unknown as Record<string, unknown>)[k] = v;
  return record;
}

interface LedgerCountsRow {
  rows_read: number;
  rows_staged: number;
  rows_rejected: number;
  rows_filtered: number;
}

function toChunkCounts(r: LedgerCountsRow): ChunkCounts {
  return {
    read: Number(r.rows_read),
    staged: Number(r.rows_staged),
    rejected: Number(r.rows_rejected),
    filtered: Number(r.rows_filtered),
  };
}

interface LedgerTotals extends ChunkCounts {
  chunks: number;
}

async function ledgerTotals(db: Pick<Warehouse, 'query'>, runId: string): Promise<LedgerTotals> {
  const { rows } = await db.query<{
    chunks: number;
    read: number;
    staged: number;
    rejected: number;
    filtered: number;
  }>(
    `SELECT count(*) AS chunks, coalesce(sum(rows_read), 0) AS read, coalesce(sum(rows_staged), 0) AS staged,
            coalesce(sum(rows_rejected), 0) AS rejected, coalesce(sum(rows_filtered), 0) AS filtered
       FROM sluice.run_chunks WHERE run_id = $1`,
    [runId],
  );
  const r = rows[0]!;
  return {
    chunks: Number(r.chunks),
    read: Number(r.read),
    staged: Number(r.staged),
    rejected: Number(r.rejected),
    filtered: Number(r.filtered),
  };
}
