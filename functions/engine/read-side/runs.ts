// Run history: RunRecord, listRuns and getRun over `sluice.runs` and the chunk ledger, with counts that add up.
import type { RunStatus } from '../types.js';
import { count, isoText, json, optionalCount, type ReadSource, readSql, UUID } from './sql.js';

/**
 * A run's row counts, for every status. `read = loaded + rejected + filtered + uncommitted` and
 * `filtered = filteredByRule + deduplicated` always hold.
 * - a succeeded run: the counts its commit recorded; `uncommitted` is 0;
 * - a running, failed or abandoned run: what its chunk ledger holds so far. Nothing reached the target
 *   (`loaded` is 0): the rows it staged are `uncommitted` (a redrive commits them), and duplicate keys
 *   are only known at commit (`deduplicated` is 0).
 */
export interface RunCounts {
  source: 'commit' | 'ledger';
  read: number;
  loaded: number;
  rejected: number;
  filtered: number;
  filteredByRule: number;
  deduplicated: number;
  uncommitted: number;
}

/** A run as recorded in `sluice.runs`; the optional counts are those its commit recorded. */
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
  /** finishedAt - startedAt, once finished. */
  durationMs?: number;
  chunkCount?: number;
  /** Chunks in the ledger now (progress of a running run). */
  chunksLoaded: number;
  skippedSources?: number;
  read?: number;
  loaded?: number;
  rejected?: number;
  filtered?: number;
  deduplicated?: number;
  /** Counts for every status (see RunCounts). */
  counts: RunCounts;
  partitions: string[];
  summary?: unknown;
  error?: string;
}

const RUN_COLUMNS = `
  r.run_id, r.pipeline, r.status, r.spec_version, r.spec_hash, r.trigger, r.full_refresh, r.holder,
  ${isoText('r.started_at')} AS started_at, ${isoText('r.planned_at')} AS planned_at,
  ${isoText('r.finished_at')} AS finished_at, r.chunk_count, r.skipped_sources, r.rows_read, r.rows_loaded,
  r.rows_rejected, r.rows_filtered, r.rows_deduplicated, to_jsonb(r.partitions) AS partitions, r.summary,
  r.error, l.chunks_loaded, l.ledger_read, l.ledger_staged, l.ledger_rejected, l.ledger_filtered`;

const LEDGER_JOIN = `
  LEFT JOIN LATERAL (
    SELECT count(*) AS chunks_loaded, coalesce(sum(c.rows_read), 0) AS ledger_read,
           coalesce(sum(c.rows_staged), 0) AS ledger_staged, coalesce(sum(c.rows_rejected), 0) AS ledger_rejected,
           coalesce(sum(c.rows_filtered), 0) AS ledger_filtered
      FROM sluice.run_chunks c WHERE c.run_id = r.run_id) l ON true`;

interface RunQueryRow {
  run_id: string;
  pipeline: string;
  status: RunStatus;
  spec_version: unknown;
  spec_hash: string;
  trigger: unknown;
  full_refresh: boolean | string;
  holder: string;
  started_at: string;
  planned_at: string | null;
  finished_at: string | null;
  chunk_count: unknown;
  skipped_sources: unknown;
  rows_read: unknown;
  rows_loaded: unknown;
  rows_rejected: unknown;
  rows_filtered: unknown;
  rows_deduplicated: unknown;
  partitions: unknown;
  summary: unknown;
  error: string | null;
  chunks_loaded: unknown;
  ledger_read: unknown;
  ledger_staged: unknown;
  ledger_rejected: unknown;
  ledger_filtered: unknown;
}

/**
 * Runs, newest first, of one pipeline or all.
 *
 * @example await listRuns(warehouse, { pipeline: 'orders', limit: 10 })
 */
export async function listRuns(
  source: ReadSource,
  options: { pipeline?: string; limit?: number; status?: RunStatus } = {},
): Promise<RunRecord[]> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 20), 1), 1000);
  const { rows } = await readSql(source)<RunQueryRow>(
    `SELECT ${RUN_COLUMNS}
       FROM sluice.runs r ${LEDGER_JOIN}
      WHERE ($1::text IS NULL OR r.pipeline = $1) AND ($2::text IS NULL OR r.status = $2)
      ORDER BY r.started_at DESC, r.run_id
      LIMIT $3`,
    [options.pipeline ?? null, options.status ?? null, limit],
  );
  return rows.map(toRunRecord);
}

/** One run, or undefined when there is none with this id (or it is not a UUID). */
export async function getRun(source: ReadSource, runId: string): Promise<RunRecord | undefined> {
  if (!UUID.test(runId)) return undefined;
  const { rows } = await readSql(source)<RunQueryRow>(
    `SELECT ${RUN_COLUMNS} FROM sluice.runs r ${LEDGER_JOIN} WHERE r.run_id = $1`,
    [runId],
  );
  return rows[0] ? toRunRecord(rows[0]) : undefined;
}

function runCounts(r: RunQueryRow): RunCounts {
  if (r.status === 'succeeded' && r.rows_read !== null && r.rows_read !== undefined) {
    const filteredByRule = count(r.rows_filtered);
    const deduplicated = count(r.rows_deduplicated);
    return {
      source: 'commit',
      read: count(r.rows_read),
      loaded: count(r.rows_loaded),
      rejected: count(r.rows_rejected),
      filtered: filteredByRule + deduplicated,
      filteredByRule,
      deduplicated,
      uncommitted: 0,
    };
  }
  const filteredByRule = count(r.ledger_filtered);
  return {
    source: 'ledger',
    read: count(r.ledger_read),
    loaded: 0,
    rejected: count(r.ledger_rejected),
    filtered: filteredByRule,
    filteredByRule,
    deduplicated: 0,
    uncommitted: count(r.ledger_staged),
  };
}

function toRunRecord(r: RunQueryRow): RunRecord {
  const record: RunRecord = {
    runId: r.run_id,
    pipeline: r.pipeline,
    status: r.status,
    specVersion: count(r.spec_version),
    specHash: r.spec_hash,
    trigger: json(r.trigger) ?? {},
    fullRefresh: r.full_refresh === true || r.full_refresh === 'true',
    holder: r.holder,
    startedAt: r.started_at,
    chunksLoaded: count(r.chunks_loaded),
    counts: runCounts(r),
    partitions: json<string[]>(r.partitions) ?? [],
  };
  const optional: Partial<RunRecord> = {
    plannedAt: r.planned_at ?? undefined,
    finishedAt: r.finished_at ?? undefined,
    durationMs: r.finished_at ? Date.parse(r.finished_at) - Date.parse(r.started_at) : undefined,
    chunkCount: optionalCount(r.chunk_count),
    skippedSources: optionalCount(r.skipped_sources),
    read: optionalCount(r.rows_read),
    loaded: optionalCount(r.rows_loaded),
    rejected: optionalCount(r.rows_rejected),
    filtered: optionalCount(r.rows_filtered),
    deduplicated: optionalCount(r.rows_deduplicated),
    summary: json(r.summary),
    error: r.error ?? undefined,
  };
  for (const [k, v] of Object.entries(optional))
    if (v !== undefined) (record as unknown as Record<string, unknown>)[k] = v;
  return record;
}
