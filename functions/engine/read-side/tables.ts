// Target tables for the console: which tables Sluice loads, and each one's partitions with row counts and sizes.
import { quoteIdent } from '../ports/sql.js';
import { count, type ReadSource, readSql } from './sql.js';

export interface TableRef {
  schema: string;
  table: string;
  /** The pipeline that last created or verified it. */
  pipeline: string;
}

export interface PartitionStats {
  name: string;
  /** `FOR VALUES FROM (…) TO (…)` or `DEFAULT`. */
  bound: string;
  /** Exact (count(*)): what an operator checking a load wants, not the planner's estimate. */
  rows: number;
  /** Table, indexes and TOAST (pg_total_relation_size). */
  bytes: number;
}

/** Every target table Sluice created or verified (sluice.table_versions), by name. */
export async function listTargetTables(source: ReadSource): Promise<TableRef[]> {
  const { rows } = await readSql(source)<{ table_schema: string; table_name: string; pipeline: string }>(
    `SELECT DISTINCT ON (table_schema, table_name) table_schema, table_name, pipeline
       FROM sluice.table_versions ORDER BY table_schema, table_name, applied_at DESC`,
  );
  return rows.map((r) => ({ schema: r.table_schema, table: r.table_name, pipeline: r.pipeline }));
}

/**
 * A target table's partitions, or undefined when Sluice does not know the table or it no longer exists.
 *
 * @example await tablePartitions(warehouse, { schema: 'analytics', table: 'orders' })
 */
export async function tablePartitions(
  source: ReadSource,
  ref: { schema: string; table: string },
): Promise<PartitionStats[] | undefined> {
  const sql = readSql(source);
  const known = await sql<{ parent: string | null }>(
    `SELECT to_regclass(format('%I.%I', table_schema, table_name))::text AS parent
       FROM sluice.table_versions WHERE table_schema = $1 AND table_name = $2 LIMIT 1`,
    [ref.schema, ref.table],
  );
  if (!known.rows[0]?.parent) return undefined;
  const { rows } = await sql<{ schema: string; name: string; bound: string; bytes: unknown }>(
    `SELECT n.nspname AS schema, c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound,
            pg_total_relation_size(c.oid) AS bytes
       FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.inhparent = to_regclass(format('%I.%I', $1::text, $2::text))
      ORDER BY c.relname`,
    [ref.schema, ref.table],
  );
  const stats: PartitionStats[] = [];
  for (const r of rows) {
    const counted = await sql<{ n: unknown }>(
      `SELECT count(*) AS n FROM ${quoteIdent(r.schema)}.${quoteIdent(r.name)}`,
    );
    stats.push({ name: r.name, bound: r.bound, rows: count(counted.rows[0]?.n), bytes: count(r.bytes) });
  }
  return stats;
}
