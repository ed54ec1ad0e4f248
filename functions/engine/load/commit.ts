// Committing a run: completeness, quality, then the merge (or partition swap) and everything that moves with it, in one transaction.

import { appendAudit } from '../audit/log.js';
import { quoteQualified } from '../ports/sql.js';
import type { Warehouse } from '../ports/warehouse.js';
import type { DestinationSpec, PipelineSpec } from '../spec/schema.js';
import { applyChanges, type ChangeCounts, prepareChangePartitions } from './cdc-apply.js';
import { type MergeCounts, mergeOrSwap, replacedRows } from './commit-merge.js';
import { applyDeletes, type DeleteCounts, dropKeysTable } from './deletes.js';
import { DuplicateKeyError, IncompleteRunError, RunStateError } from './errors.js';
import type { FaultInjector } from './fault-points.js';
import { ledgerTotals } from './ledger.js';
import { releaseLock } from './lock.js';
import { checkRejectRatio, checkRowLimits } from './quality.js';
import { getRunRow, lockRun, type RunRow, stagingTableName } from './run-row.js';
import { type HistoryCounts, isHistory, mergeHistory, prepareHistoryVersion } from './scd2.js';
import { bookmarkFiles, type SourceFile, saveCursor } from './state.js';
import { refuseSharedFullRefresh } from './table-writers.js';
import { preparePartitions, targetTableName } from './target.js';

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
  /** The run staged change events (CDC): they are applied in order (cdc-apply.ts), not merged. */
  changes?: boolean;
  /** mode: history: when the run's versions start, instead of the commit's clock (CDC's first load). */
  versionsFrom?: string;
  /** The source delivers deletes as change events (CDC): no key snapshot was staged, none is applied. */
  deletesByEvents?: boolean;
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

  // (c) partitions, in their own short transaction so the merge holds no DDL locks (history: the one
  // partition of the instant its versions start)
  const changes = input.changes === true;
  // Deletes by key snapshot, unless the source's deletes are events (a CDC first load has no snapshot).
  const keySnapshotDest: DestinationSpec = input.deletesByEvents ? { ...dest, deletes: 'ignore' } : dest;
  const version =
    isHistory(dest) && !changes
      ? await prepareHistoryVersion(wh, dest, runId, input.versionsFrom)
      : undefined;
  const partitions = changes
    ? await prepareChangePartitions(wh, dest, runId)
    : version
      ? version.partitions
      : await preparePartitions(wh, dest, staging);

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
    // Checked again here (Prepare checked first): another pipeline may have committed into the table since.
    if (fullRefresh) await refuseSharedFullRefresh(tx, dest, spec.name, { lock: true });
    const replace = replacedRows(dest, partitions, fullRefresh, final.staged);
    let merged: MergeCounts & { swapped: string[]; replaced: number };
    let history: HistoryCounts | undefined;
    let applied: ChangeCounts | undefined;
    try {
      if (changes) {
        applied = await applyChanges(tx, dest, runId);
        if (isHistory(dest)) history = applied;
        merged = { ...applied, swapped: [], replaced: 0 };
      } else if (version) {
        history = await mergeHistory(tx, keySnapshotDest, runId, version.at);
        merged = { ...history, swapped: [], replaced: 0 };
      } else merged = await mergeOrSwap(tx, dest, staging, partitions, replace);
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
    if (dest.mode !== 'upsert' && !history && written !== loaded) {
      throw new Error(`run ${runId}: inserted ${written} rows, expected ${loaded}`);
    }
    checkRowLimits(spec, loaded);
    // deletes: hard | soft (deletes.ts); a full refresh has just replaced every row.
    const deletes: DeleteCounts = applied
      ? { deleted: applied.deleted, moved: applied.moved, restored: applied.restored }
      : fullRefresh || history
        ? { deleted: history?.deleted ?? 0, moved: 0, restored: 0 }
        : await applyDeletes(tx, keySnapshotDest, runId);

    if (input.files.length > 0) await bookmarkFiles(tx, spec.name, runId, input.files);
    if (input.cursor !== undefined) await saveCursor(tx, spec.name, runId, input.cursor);
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
              partitions = $8::text[], summary = coalesce(summary, '{}'::jsonb) || $9::jsonb
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
          target: targetTableName(dest),
          mode: dest.mode,
          fullRefresh,
          written,
          replaced,
          files: input.files.length,
          swapped: merged.swapped,
          ...(dest.deletes && dest.deletes !== 'ignore' ? deletes : {}),
          ...(history
            ? { versionsFrom: version?.at, closed: history.closed, updatedInPlace: history.updatedInPlace }
            : {}),
        }),
      ],
    );
    await releaseLock(tx, runId);
    await tx.query(`DROP TABLE IF EXISTS ${quoteQualified(staging)}`);
    await dropKeysTable(tx, runId);
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
