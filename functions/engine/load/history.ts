// The read side of runs: RunRecord, listRuns and getRun over `sluice.runs` and the ledger.
import type { Warehouse } from '../ports/warehouse.js';
import type { RunStatus } from '../types.js';
import { getRunRow, iso, type RunRow } from './run-row.js';

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
