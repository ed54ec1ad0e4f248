// mode: history (SCD type 2): the history table's shape, its partition for the run's versions, and the commit step that closes changed versions and opens new ones.
import { quoteIdent, quoteQualified } from '../ports/sql.js';
import type { Warehouse, WarehouseTx } from '../ports/warehouse.js';
import type { DestinationSpec } from '../spec/schema.js';
import { deletesMode, identityColumn, KEY_COLUMN, keysTableName } from './deletes.js';
import { dedupedRowsSql, MERGE_WORK_MEM } from './merge-sql.js';
import { stagingTableName } from './run-row.js';
import { preparePartitions, type StagedPartition, targetTableName } from './target.js';

export interface HistoryColumns {
  validFrom: string;
  validTo: string;
  isCurrent: string;
  /** Columns whose change makes a new version. */
  tracked: string[];
  /** Columns outside the key and `tracked`: updated in the current version, making none. */
  untracked: string[];
}

export function isHistory(dest: DestinationSpec): boolean {
  return dest.mode === 'history';
}

export function historyColumns(dest: DestinationSpec): HistoryColumns {
  const key = dest.key ?? [];
  const rest = Object.keys(dest.columns).filter((c) => !key.includes(c));
  const tracked = dest.history?.tracked ?? rest;
  return {
    validFrom: dest.history?.validFrom ?? 'valid_from',
    validTo: dest.history?.validTo ?? 'valid_to',
    isCurrent: dest.history?.isCurrent ?? 'is_current',
    tracked,
    untracked: rest.filter((c) => !tracked.includes(c)),
  };
}

/**
 * The table a history destination is stored as: its columns plus `validFrom` (timestamptz, not null,
 * the partition column), `validTo` (null while current) and `isCurrent`, keyed by key + validFrom.
 * What the target-table code creates and checks, so it needs to know nothing of history.
 */
export function historyTableDestination(dest: DestinationSpec): DestinationSpec {
  const h = historyColumns(dest);
  return {
    ...dest,
    mode: 'append',
    columns: {
      ...dest.columns,
      [h.validFrom]: { type: 'timestamptz', nullable: false },
      [h.validTo]: { type: 'timestamptz', nullable: true },
      [h.isCurrent]: { type: 'boolean', nullable: false },
    },
    key: [...(dest.key ?? []), h.validFrom],
  };
}

/**
 * Before the commit's transaction: the instant the run's versions start (`at`, the database's clock,
 * as text) and the partition it falls in, created if missing (own short transaction, as for any run).
 * A retried commit takes a new instant: the first one never committed.
 */
export async function prepareHistoryVersion(
  wh: Warehouse,
  dest: DestinationSpec,
  runId: string,
  /** When the run's versions start instead (CDC's first load: when the slot's position was taken). */
  from?: string,
): Promise<{ at: string; partitions: StagedPartition[] }> {
  const h = historyColumns(dest);
  const at =
    from ?? (await wh.query<{ at: string }>(`SELECT clock_timestamp()::timestamptz::text AS at`)).rows[0]!.at;
  // preparePartitions reads the units from a table: one row at the version's instant.
  const scratch = `${stagingTableName(runId)}_at`;
  await wh.query(`DROP TABLE IF EXISTS ${quoteQualified(scratch)}`);
  await wh.query(
    `CREATE TABLE ${quoteQualified(scratch)} AS SELECT $1::timestamptz AS ${quoteIdent(h.validFrom)}`,
    [at],
  );
  try {
    return { at, partitions: await preparePartitions(wh, historyTableDestination(dest), scratch) };
  } finally {
    await wh.query(`DROP TABLE IF EXISTS ${quoteQualified(scratch)}`);
  }
}

export interface HistoryCounts {
  staged_rows: number;
  /** Keys of the run (after the run's own dedupe: the latest row per key). */
  distinct_rows: number;
  /** Versions opened: new keys and changed ones. */
  written: number;
  /** Versions closed because a tracked column changed. */
  closed: number;
  /** Versions closed because the key left the source (deletes: hard). */
  deleted: number;
  /** Current versions whose untracked columns were updated in place. */
  updatedInPlace: number;
}

/**
 * In the commit's transaction: for each key of the run (its latest row), when a tracked column differs
 * from the current version, that version is closed (`validTo = at`, not current) and a new one opened
 * from `at`; a new key opens its first version; an unchanged key makes none (untracked columns are
 * updated in place). With `deletes: hard`, the current version of every key missing from the run's key
 * snapshot is closed. Versions of one key never overlap: `validTo` of one is `validFrom` of the next.
 */
export async function mergeHistory(
  tx: WarehouseTx,
  dest: DestinationSpec,
  runId: string,
  at: string,
): Promise<HistoryCounts> {
  const h = historyColumns(dest);
  const target = quoteQualified(targetTableName(dest));
  const staging = quoteQualified(stagingTableName(runId));
  const q = quoteIdent;
  const key = (dest.key ?? []).map(q);
  const cols = Object.keys(dest.columns).map(q);
  const sameKey = key.map((k) => `t.${k} = d.${k}`).join(' AND ');
  const current = `t.${q(h.isCurrent)}`;
  const differs = (names: string[]) =>
    `(${names.map((c) => `t.${q(c)}`).join(', ')}) IS DISTINCT FROM (${names.map((c) => `d.${q(c)}`).join(', ')})`;

  await tx.query(`SET LOCAL work_mem = '${MERGE_WORK_MEM}'`);
  await tx.query(
    `CREATE TEMP TABLE sluice_history_run ON COMMIT DROP AS ${dedupedRowsSql(dest, stagingTableName(runId))}`,
  );
  const d = 'sluice_history_run';
  const counts = await tx.query<{ staged: string; distinct: string }>(
    `SELECT (SELECT count(*) FROM ${staging}) AS staged, (SELECT count(*) FROM ${d}) AS distinct`,
  );
  const closed = await tx.query(
    `UPDATE ${target} t SET ${q(h.validTo)} = $1::timestamptz, ${q(h.isCurrent)} = false
       FROM ${d} d WHERE ${current} AND ${sameKey} AND ${differs(h.tracked)}`,
    [at],
  );
  const inPlace =
    h.untracked.length === 0
      ? { rowCount: 0 }
      : await tx.query(
          `UPDATE ${target} t SET ${h.untracked.map((c) => `${q(c)} = d.${q(c)}`).join(', ')}
             FROM ${d} d WHERE ${current} AND ${sameKey} AND ${differs(h.untracked)}`,
        );
  let deleted = 0;
  if (deletesMode(dest) === 'hard') {
    const id = identityColumn(dest);
    const gone = await tx.query(
      `UPDATE ${target} t SET ${q(h.validTo)} = $1::timestamptz, ${q(h.isCurrent)} = false
        WHERE ${current} AND NOT EXISTS (SELECT 1 FROM ${quoteQualified(keysTableName(runId))} s WHERE s.${q(KEY_COLUMN)} = t.${q(id)})`,
      [at],
    );
    deleted = gone.rowCount;
  }
  const opened = await tx.query(
    `INSERT INTO ${target} (${cols.join(', ')}, ${q(h.validFrom)}, ${q(h.validTo)}, ${q(h.isCurrent)})
     SELECT ${cols.map((c) => `d.${c}`).join(', ')}, $1::timestamptz, NULL, true FROM ${d} d
      WHERE NOT EXISTS (SELECT 1 FROM ${target} t WHERE ${current} AND ${sameKey})`,
    [at],
  );
  await tx.query(`DROP TABLE ${d}`);
  return {
    staged_rows: Number(counts.rows[0]!.staged),
    distinct_rows: Number(counts.rows[0]!.distinct),
    written: opened.rowCount,
    closed: closed.rowCount,
    deleted,
    updatedInPlace: inPlace.rowCount,
  };
}
