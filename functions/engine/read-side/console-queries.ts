// Queries the local console (sluice ui) needs beyond the run list: pipelines, chunks, events, partitions.
import { quoteIdent as quote } from '../ports/sql.js';
import type { QueryResult } from '../ports/warehouse.js';

/** All the console needs of a database: one statement at a time (PostgreSQL, PGlite, or the Data API). */
export interface SqlReader {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
}

/** One pipeline as the console's first page shows it. */
export interface PipelineOverview {
  pipeline: string;
  runs: number;
  lastRunId: string;
  lastStatus: string;
  lastStartedAt: string;
  /** When the last successful run finished: how fresh the data is. */
  lastSucceededAt?: string;
  /** The run holding the pipeline's lock right now, if any. */
  lockedBy?: string;
}

export interface ChunkRecord {
  chunkId: string;
  seq: number;
  route: string;
  read: number;
  staged: number;
  rejected: number;
  filtered: number;
  bytes: number;
  loadedAt: string;
}

export interface RunEvent {
  seq: number;
  at: string;
  kind: string;
  actor: string;
  detail: string;
}

export interface TableRef {
  schema: string;
  table: string;
  pipeline: string;
}

export interface PartitionStats {
  name: string;
  /** `FOR VALUES FROM (…) TO (…)` or `DEFAULT`. */
  bound: string;
  rows: number;
  bytes: number;
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

export async function listPipelines(db: SqlReader): Promise<PipelineOverview[]> {
  const { rows } = await db.query<{
    pipeline: string;
    runs: number | string;
    run_id: string;
    status: string;
    started_at: Date | string;
    last_succeeded_at: Date | string | null;
    locked_by: string | null;
  }>(
    `SELECT DISTINCT ON (r.pipeline) r.pipeline, r.run_id, r.status, r.started_at,
            (SELECT count(*) FROM sluice.runs a WHERE a.pipeline = r.pipeline) AS runs,
            (SELECT max(s.finished_at) FROM sluice.runs s
              WHERE s.pipeline = r.pipeline AND s.status = 'succeeded') AS last_succeeded_at,
            (SELECT l.run_id::text FROM sluice.pipeline_locks l WHERE l.pipeline = r.pipeline) AS locked_by
       FROM sluice.runs r
      ORDER BY r.pipeline, r.started_at DESC, r.run_id`,
  );
  return rows.map((r) => ({
    pipeline: r.pipeline,
    runs: Number(r.runs),
    lastRunId: r.run_id,
    lastStatus: r.status,
    lastStartedAt: iso(r.started_at),
    ...(r.last_succeeded_at ? { lastSucceededAt: iso(r.last_succeeded_at) } : {}),
    ...(r.locked_by ? { lockedBy: r.locked_by } : {}),
  }));
}

/** The chunks a run loaded, in load order (the ledger: one row per chunk committed). */
export async function listRunChunks(db: SqlReader, runId: string): Promise<ChunkRecord[]> {
  const { rows } = await db.query<{
    chunk_id: string;
    seq: number;
    route: string;
    rows_read: number | string;
    rows_staged: number | string;
    rows_rejected: number | string;
    rows_filtered: number | string;
    bytes: number | string;
    loaded_at: Date | string;
  }>(
    `SELECT chunk_id, seq, route, rows_read, rows_staged, rows_rejected, rows_filtered, bytes, loaded_at
       FROM sluice.run_chunks WHERE run_id = $1::uuid ORDER BY loaded_at, seq`,
    [runId],
  );
  return rows.map((r) => ({
    chunkId: r.chunk_id,
    seq: Number(r.seq),
    route: r.route,
    read: Number(r.rows_read),
    staged: Number(r.rows_staged),
    rejected: Number(r.rows_rejected),
    filtered: Number(r.rows_filtered),
    bytes: Number(r.bytes),
    loadedAt: iso(r.loaded_at),
  }));
}

/** The audit trail's records of one run, in order. */
export async function listRunEvents(db: SqlReader, runId: string): Promise<RunEvent[]> {
  const { rows } = await db.query<{
    seq: number | string;
    at: Date | string;
    kind: string;
    actor: string;
    detail: string;
  }>('SELECT seq, at, kind, actor, detail FROM sluice.audit_log WHERE run_id = $1::uuid ORDER BY seq', [
    runId,
  ]);
  return rows.map((r) => ({
    seq: Number(r.seq),
    at: iso(r.at),
    kind: r.kind,
    actor: r.actor,
    detail: r.detail,
  }));
}

/** Every target table Sluice created or verified, with the pipeline that loads it. */
export async function listTargetTables(db: SqlReader): Promise<TableRef[]> {
  const { rows } = await db.query<{ table_schema: string; table_name: string; pipeline: string }>(
    `SELECT DISTINCT ON (table_schema, table_name) table_schema, table_name, pipeline
       FROM sluice.table_versions ORDER BY table_schema, table_name, applied_at DESC`,
  );
  return rows.map((r) => ({ schema: r.table_schema, table: r.table_name, pipeline: r.pipeline }));
}

/**
 * A partitioned table's partitions with exact row counts and on-disk sizes; undefined when the table
 * does not exist. Counts are exact (count(*)), which is what an operator checking a load wants.
 */
export async function tablePartitions(
  db: SqlReader,
  ref: { schema: string; table: string },
): Promise<PartitionStats[] | undefined> {
  const parent = `${quote(ref.schema)}.${quote(ref.table)}`;
  const exists = await db.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [parent]);
  if (!exists.rows[0]?.oid) return undefined;
  const { rows } = await db.query<{ schema: string; name: string; bound: string; bytes: number | string }>(
    `SELECT n.nspname AS schema, c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound,
            pg_total_relation_size(c.oid) AS bytes
       FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.inhparent = $1::regclass
      ORDER BY c.relname`,
    [parent],
  );
  const stats: PartitionStats[] = [];
  for (const r of rows) {
    const counted = await db.query<{ n: number | string }>(
      `SELECT count(*) AS n FROM ${quote(r.schema)}.${quote(r.name)}`,
    );
    stats.push({
      name: r.name,
      bound: r.bound,
      rows: Number(counted.rows[0]?.n ?? 0),
      bytes: Number(r.bytes),
    });
  }
  return stats;
}
