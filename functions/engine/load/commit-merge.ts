// The commit's write of the run's rows: the merge, or new tables swapped in for the empty partitions it fills.

import { quoteQualified } from '../ports/sql.js';
import type { WarehouseTx } from '../ports/warehouse.js';
import type { DestinationSpec } from '../spec/schema.js';
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
import { primaryKeyColumns, type StagedPartition, targetTableName } from './target.js';

export interface MergeCounts {
  staged_rows: number;
  distinct_rows: number;
  written: number;
}

/**
 * The rows the commit replaces: every row of the target (a full refresh) or those of the given units
 * (replace-partitions); undefined when it replaces nothing.
 */
export type Replace = 'all' | { start: string; end: string }[] | undefined;

/**
 * What the commit replaces. A full refresh: everything. replace-partitions: the partitions the staged
 * rows touch; an unpartitioned table is one partition, so the whole table when the run staged a row
 * (a rerun that found nothing new replaces nothing, as it touches no partition of a partitioned one).
 * Deleted in the commit's transaction (never TRUNCATE, which a REPEATABLE READ snapshot taken before
 * the commit would see as an empty table): readers see the old rows or the new.
 */
export function replacedRows(
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
export async function mergeOrSwap(
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
