// Committing a run: completeness, quality, then the merge (or partition swap) and everything that moves with it, in one transaction.

import { appendAudit } from '../audit/log.js';
import { quoteQualified } from '../ports/sql.js';
import type { Warehouse, WarehouseTx } from '../ports/warehouse.js';
import type { DestinationSpec, PipelineSpec } from '../spec/schema.js';
import { applyDeletes, type DeleteCounts, dropKeysTable } from './deletes.js';
import { DuplicateKeyError, IncompleteRunError, RunStateError } from './errors.js';
import type { FaultInjector } from './fault-points.js';
import { ledgerTotals } from './ledger.js';
import { releaseLock } from './lock.js';
import { deleteUnitsSql, KEY_REPEATS_IN_RUN, mergeSql, mergeWithoutDedupeSql } from './merge-sql.js';
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
import { checkRejectRatio, checkRowLimits } from './quality.js';
import { getRunRow, lockRun, type RunRow, stagingTableName } from './run-row.js';
import { type HistoryCounts, isHistory, mergeHistory, prepareHistoryVersion } from './scd2.js';
import { bookmarkFiles, type SourceFile, saveCursor } from './state.js';
import { refuseSharedFullRefresh } from './table-writers.js';
import { preparePartitions, primaryKeyColumns, type StagedPartition, targetTableName } from './target.js';

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

  // (c) partitions, in their own short transaction so the merge holds no DDL locks (history: the one
  // partition of the instant its versions start)
  const version = isHistory(dest) ? await prepareHistoryVersion(wh, dest, runId) : undefined;
  const partitions = version ? version.partitions : await preparePartitions(wh, dest, staging);

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
    try {
      if (version) {
        history = await mergeHistory(tx, dest, runId, version.at);
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
    const deletes: DeleteCounts =
      fullRefresh || history
        ? { deleted: history?.deleted ?? 0, moved: 0, restored: 0 }
        : await applyDeletes(tx, dest, runId);

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
 * What the commit replaces. A full refresh: everything. replace-partitions: the partitions the staged
 * rows touch; an unpartitioned table is one partition, so the whole table when the run staged a row
 * (a rerun that found nothing new replaces nothing, as it touches no partition of a partitioned one).
 * Deleted in the commit's transaction (never TRUNCATE, which a REPEATABLE READ snapshot taken before
 * the commit would see as an empty table): readers see the old rows or the new.
 */
function replacedRows(
  dest: DestinationSpec,
  partitions: StagedPartition[],
  fullRefresh: boolean,
  staged: number,
): Replace {
  if (fullRefresh) return 'all';
  if (dest.mode !== 'replace-partitions') return undefined;
  if (!dest.partitioning) return staged > 0 ? 'all' : undefined;
  return partitions;
}

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
