// The `sluice.runs` row as stored, and what every step of a run shares about it: run ids, the staging table's name, the run row lock.

import type { Warehouse, WarehouseTx } from '../ports/warehouse.js';
import type { RunStatus } from '../types.js';
import { STAGING_SCHEMA } from './migrations.js';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function assertRunId(runId: string): void {
  if (!UUID.test(runId)) throw new Error(`run id must be a UUID, got ${JSON.stringify(runId)}`);
}

/** `sluice_staging.run_<run id without dashes>`: the run's staging table (unquoted; safe as written). */
export function stagingTableName(runId: string): string {
  assertRunId(runId);
  return `${STAGING_SCHEMA}.run_${runId.replaceAll('-', '').toLowerCase()}`;
}

/** Locks the run row: shared by chunk loads, exclusive for commit and fail, so they never interleave. */
export async function lockRun(tx: WarehouseTx, runId: string, mode: 'share' | 'update') {
  const { rows } = await tx.query<RunRow>(
    `SELECT * FROM sluice.runs WHERE run_id = $1 FOR ${mode === 'share' ? 'SHARE' : 'UPDATE'}`,
    [runId],
  );
  return rows[0];
}

export async function getRunRow(wh: Warehouse, runId: string): Promise<RunRow | undefined> {
  if (!UUID.test(runId)) return undefined;
  const { rows } = await wh.query<RunRow>(
    `SELECT r.*, (SELECT count(*) FROM sluice.run_chunks c WHERE c.run_id = r.run_id) AS chunks_loaded
       FROM sluice.runs r WHERE r.run_id = $1`,
    [runId],
  );
  return rows[0];
}

export interface RunRow {
  run_id: string;
  pipeline: string;
  status: RunStatus;
  spec_version: number;
  spec_hash: string;
  trigger: unknown;
  full_refresh: boolean;
  holder: string;
  started_at: Date;
  planned_at: Date | null;
  finished_at: Date | null;
  chunk_count: number | null;
  skipped_sources: number | null;
  rows_read: number | null;
  rows_loaded: number | null;
  rows_rejected: number | null;
  rows_filtered: number | null;
  rows_deduplicated: number | null;
  partitions: string[] | null;
  summary: unknown;
  error: string | null;
  chunks_loaded?: number;
}

export function iso(timestamp: Date): string {
  return new Date(timestamp).toISOString();
}
