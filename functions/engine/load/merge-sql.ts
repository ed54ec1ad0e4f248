import { quoteIdent, quoteQualified } from '../ports/sql.js';
import type { DestinationSpec } from '../spec/schema.js';
import { asPartitionColumnType, boundLiteral, partitioningOf } from './partition-units.js';
import { targetTableName } from './target.js';

/** Memory for the merge's dedupe sort (per sort, for the commit's transaction only). */
export const MERGE_WORK_MEM = '256MB';

/** Staging columns after the destination's: the chunk's seq and the row's ordinal within the chunk. */
export const SEQ_COLUMN = '_sluice_seq';
export const ORD_COLUMN = '_sluice_ord';

/**
 * The FROM of the staged rows a merge takes: the whole staging table, or with `where` (a predicate on
 * its columns) the rows matching it — the rows of partitions not swapped in (see partition-swap.ts).
 */
function stagedRows(stagingTable: string, where?: string): string {
  const staging = quoteQualified(stagingTable);
  return where ? `${staging} WHERE ${where}` : staging;
}

/**
 * The run's rows reduced to what gets merged: with a key, one row per key, the latest of the run
 * (highest chunk seq, then highest ordinal within the chunk); without a key, every row.
 */
export function dedupedRowsSql(dest: DestinationSpec, stagingTable: string, where?: string): string {
  const cols = Object.keys(dest.columns).map(quoteIdent).join(', ');
  const staging = stagedRows(stagingTable, where);
  if (!dest.key || dest.key.length === 0) return `SELECT ${cols} FROM ${staging}`;
  const keys = dest.key.map(quoteIdent).join(', ');
  return `SELECT DISTINCT ON (${keys}) ${cols} FROM ${staging}
     ORDER BY ${keys}, ${quoteIdent(SEQ_COLUMN)} DESC, ${quoteIdent(ORD_COLUMN)} DESC`;
}

/**
 * The merge: `SET LOCAL work_mem`, then one statement that merges the staged rows into the target and returns one row:
 * `staged_rows` (rows in staging), `distinct_rows` (after key dedupe) and `written` (rows inserted or
 * actually changed; an upsert skips rows equal to what the table holds).
 * `append` and `replace-partitions` insert; `upsert` inserts or updates on the key.
 */
export function mergeSql(dest: DestinationSpec, stagingTable: string, where?: string): string {
  const target = quoteQualified(targetTableName(dest));
  const cols = Object.keys(dest.columns).map(quoteIdent).join(', ');
  const staging = stagedRows(stagingTable, where);
  // The sort that dedupes the run (DISTINCT ON) spills to disk at the default 4 MB; LOCAL ends with the
  // commit's transaction.
  const sortMemory = `SET LOCAL work_mem = '${MERGE_WORK_MEM}';\n`;
  if (dest.mode !== 'upsert') {
    // Without ON CONFLICT every deduped row is inserted or the statement fails, so the rows it returns
    // are the distinct rows too: no need to materialise them first (a second copy of the run).
    return `${sortMemory}WITH w AS (INSERT INTO ${target} AS t (${cols}) ${dedupedRowsSql(dest, stagingTable, where)} RETURNING 1)
SELECT (SELECT count(*) FROM ${staging}) AS staged_rows,
       (SELECT count(*) FROM w) AS distinct_rows,
       (SELECT count(*) FROM w) AS written`;
  }
  return `${sortMemory}WITH d AS MATERIALIZED (${dedupedRowsSql(dest, stagingTable, where)}),
     w AS (INSERT INTO ${target} AS t (${cols}) SELECT ${cols} FROM d ${conflictClause(dest)} RETURNING 1)
SELECT (SELECT count(*) FROM ${staging}) AS staged_rows,
       (SELECT count(*) FROM d) AS distinct_rows,
       (SELECT count(*) FROM w) AS written`;
}

/**
 * mergeSql without the dedupe sort, for a run in which no key repeats (the common case); undefined when
 * the destination cannot take it. It relies on the target's primary key on exactly `destination.key` to
 * FAIL when a key does repeat (see KEY_REPEATS_IN_RUN); the caller then rolls back to a savepoint and
 * runs mergeSql, which dedupes. `targetEmpty` (an upsert into an empty table, e.g. a first load or a
 * full refresh) makes the upsert a plain insert: nothing can conflict but a repeat, and `ON CONFLICT`'s
 * speculative insertion costs ~1.8× a plain insert. An upsert into a non-empty table whose columns are
 * all key columns (DO NOTHING) would skip a repeat silently: it always dedupes.
 *
 * `counts: 'row'`: the statement returns mergeSql's counts row. `counts: 'rowCount'`: it is a bare
 * INSERT (every staged row is written or the statement fails), so its row count is all three counts;
 * `RETURNING` into a CTE and a count of staging cost ~12% of the insert.
 */
export function mergeWithoutDedupeSql(
  dest: DestinationSpec,
  stagingTable: string,
  targetEmpty: boolean,
  where?: string,
): { sql: string; counts: 'row' | 'rowCount' } | undefined {
  const key = dest.key ?? [];
  if (key.length === 0) return undefined;
  const conflict = dest.mode === 'upsert' && !targetEmpty ? conflictClause(dest) : '';
  if (conflict.endsWith('DO NOTHING')) return undefined;
  const target = quoteQualified(targetTableName(dest));
  const cols = Object.keys(dest.columns).map(quoteIdent).join(', ');
  const staging = stagedRows(stagingTable, where);
  if (!conflict) {
    return { sql: `INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${staging}`, counts: 'rowCount' };
  }
  return {
    sql: `WITH w AS (INSERT INTO ${target} AS t (${cols}) SELECT ${cols} FROM ${staging} ${conflict} RETURNING 1),
     s AS (SELECT count(*) AS n FROM ${staging})
SELECT s.n AS staged_rows, s.n AS distinct_rows, (SELECT count(*) FROM w) AS written FROM s`,
    counts: 'row',
  };
}

/**
 * SQLSTATEs with which mergeWithoutDedupeSql says "a key repeats in this run": a plain insert raises
 * unique_violation (23505; for append also when the key is already in the target, which the deduping
 * merge then reports), `ON CONFLICT DO UPDATE` cardinality_violation (21000, "cannot affect row a
 * second time").
 */
export const KEY_REPEATS_IN_RUN: ReadonlySet<string> = new Set(['23505', '21000']);

/** `ON CONFLICT …` of an upsert (updating only rows that differ); '' for the other modes. */
function conflictClause(dest: DestinationSpec): string {
  if (dest.mode !== 'upsert') return '';
  const names = Object.keys(dest.columns);
  const key = dest.key ?? [];
  if (key.length === 0) throw new Error('mode upsert needs destination.key');
  const rest = names.filter((n) => !key.includes(n));
  const on = `ON CONFLICT (${key.map(quoteIdent).join(', ')})`;
  if (rest.length === 0) return `${on} DO NOTHING`;
  return `${on} DO UPDATE SET ${rest.map((n) => `${quoteIdent(n)} = EXCLUDED.${quoteIdent(n)}`).join(', ')}
           WHERE (${rest.map((n) => `t.${quoteIdent(n)}`).join(', ')}) IS DISTINCT FROM (${rest
             .map((n) => `EXCLUDED.${quoteIdent(n)}`)
             .join(', ')})`;
}

/**
 * replace-partitions: deletes the target's rows in the given units `[start, end)`, i.e. the units
 * the staged rows cover. Bounds are params; the OR of ranges lets PostgreSQL prune partitions.
 */
export function deleteUnitsSql(
  dest: DestinationSpec,
  units: { start: string; end: string }[],
): { sql: string; params: string[] } {
  const partitioning = partitioningOf(dest);
  const column = quoteIdent(partitioning.column);
  const type = asPartitionColumnType(dest.columns[partitioning.column]?.type ?? '');
  const params: string[] = [];
  const ranges = units.map((u) => {
    params.push(boundLiteral(u.start, type).slice(1, -1), boundLiteral(u.end, type).slice(1, -1));
    return `(${column} >= $${params.length - 1} AND ${column} < $${params.length})`;
  });
  return {
    sql: `DELETE FROM ${quoteQualified(targetTableName(dest))} WHERE ${ranges.length > 0 ? ranges.join(' OR ') : 'false'}`,
    params,
  };
}
