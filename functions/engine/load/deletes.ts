// Delete propagation by key snapshot: the run's table of source keys, and the commit step that deletes (or soft-deletes) what the source no longer has and moves rows whose partition changed.
import { quoteIdent, quoteQualified } from '../ports/sql.js';
import type { Warehouse, WarehouseTx } from '../ports/warehouse.js';
import type { DestinationSpec } from '../spec/schema.js';
import { RunStateError } from './errors.js';
import { SEQ_COLUMN } from './merge-sql.js';
import { lockRun, stagingTableName } from './run-row.js';
import { targetTableName } from './target.js';

/** The column of the key table that holds the source's key values. */
export const KEY_COLUMN = 'k';

/** `deletes` as the run applies it: undefined when the destination keeps rows the source dropped. */
export function deletesMode(dest: DestinationSpec): 'hard' | 'soft' | undefined {
  return dest.deletes === 'hard' || dest.deletes === 'soft' ? dest.deletes : undefined;
}

/** The destination column that identifies a source row: the key without the partition column. */
export function identityColumn(dest: DestinationSpec): string {
  const identity = (dest.key ?? []).filter((k) => k !== dest.partitioning?.column);
  if (identity.length !== 1)
    throw new Error(
      `deletes need exactly one key column besides the partition column, not ${identity.length}`,
    );
  return identity[0]!;
}

export function softDeleteColumn(dest: DestinationSpec): string {
  return dest.softDeleteColumn ?? 'deleted_at';
}

/** `sluice_staging.run_<hex>_keys`: the source's keys, as each chunk listed them. */
export function keysTableName(runId: string): string {
  return `${stagingTableName(runId)}_keys`;
}

/**
 * Creates (if missing) the run's key table: the identity column's type, then the chunk's seq. LOGGED,
 * unlike the staging table: a crash that emptied it would make every target row look deleted, and its
 * ledger would not know it. With `deletes: soft` the target gets its soft-delete column.
 */
export async function createKeysTable(wh: Warehouse, runId: string, dest: DestinationSpec): Promise<string> {
  const name = keysTableName(runId);
  const identity = identityColumn(dest);
  const type = dest.columns[identity]!.type;
  await wh.transaction(async (tx) => {
    const run = await lockRun(tx, runId, 'share');
    if (run?.status !== 'running') throw new RunStateError(runId, run?.status, 'create the key table');
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${quoteQualified(name)} (${quoteIdent(KEY_COLUMN)} ${type} NOT NULL, ${quoteIdent(SEQ_COLUMN)} integer NOT NULL)`,
    );
    if (deletesMode(dest) === 'soft')
      await tx.query(
        `ALTER TABLE ${quoteQualified(targetTableName(dest))} ADD COLUMN IF NOT EXISTS ${quoteIdent(softDeleteColumn(dest))} timestamptz`,
      );
  });
  return name;
}

export interface DeleteCounts {
  /** Rows deleted (hard) or marked deleted (soft) because their key left the source. */
  deleted: number;
  /** Old versions of rows whose partition column changed, deleted from their old partition. */
  moved: number;
  /** Soft-deleted rows whose key came back (soft only). */
  restored: number;
}

/**
 * In the commit's transaction, after the merge: moves rows whose partition column changed (their old
 * version goes), then deletes or soft-deletes the target rows whose key is not in the run's key
 * snapshot. The snapshot covers the source's whole key space (every chunk of the plan is in the
 * ledger: the commit checked it), so a missing key is a deleted row, never an unread one.
 */
export async function applyDeletes(
  tx: WarehouseTx,
  dest: DestinationSpec,
  runId: string,
): Promise<DeleteCounts> {
  const mode = deletesMode(dest);
  if (!mode) return { deleted: 0, moved: 0, restored: 0 };
  const target = quoteQualified(targetTableName(dest));
  const staging = quoteQualified(stagingTableName(runId));
  const keys = quoteQualified(keysTableName(runId));
  const id = quoteIdent(identityColumn(dest));
  const k = quoteIdent(KEY_COLUMN);
  // A row that moved: the run wrote (id, new partition value); (id, old value) is the stale version.
  // Unpartitioned, the key is the id alone: the upsert replaced the row in place.
  const part = dest.partitioning ? quoteIdent(dest.partitioning.column) : undefined;
  const moved = part
    ? await tx.query(
        `DELETE FROM ${target} t
          WHERE t.${id} IN (SELECT ${id} FROM ${staging})
            AND (t.${id}, t.${part}) NOT IN (SELECT ${id}, ${part} FROM ${staging})`,
      )
    : { rowCount: 0 };
  const gone = `NOT EXISTS (SELECT 1 FROM ${keys} s WHERE s.${k} = t.${id})`;
  if (mode === 'hard') {
    const deleted = await tx.query(`DELETE FROM ${target} t WHERE ${gone}`);
    return { deleted: deleted.rowCount, moved: moved.rowCount, restored: 0 };
  }
  const soft = quoteIdent(softDeleteColumn(dest));
  const deleted = await tx.query(
    `UPDATE ${target} t SET ${soft} = now() WHERE t.${soft} IS NULL AND ${gone}`,
  );
  const restored = await tx.query(
    `UPDATE ${target} t SET ${soft} = NULL
      WHERE t.${soft} IS NOT NULL AND EXISTS (SELECT 1 FROM ${keys} s WHERE s.${k} = t.${id})`,
  );
  return { deleted: deleted.rowCount, moved: moved.rowCount, restored: restored.rowCount };
}

/** Drops the run's key table (at commit, or when the run is abandoned). */
export async function dropKeysTable(tx: Pick<WarehouseTx, 'query'>, runId: string): Promise<void> {
  await tx.query(`DROP TABLE IF EXISTS ${quoteQualified(keysTableName(runId))}`);
}
