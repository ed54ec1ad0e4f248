import type { Warehouse } from '../../adapters/warehouse/types.js';

/** A pipeline's committed cursor: the state its last successful incremental run stored. */
export interface StoredCursor {
  state: Record<string, unknown>;
  runId: string;
  updatedAt: string;
}

/** Reads `sluice.cursors` for a pipeline; undefined before its first incremental commit. */
export async function readCursor(wh: Warehouse, pipeline: string): Promise<StoredCursor | undefined> {
  const { rows } = await wh.query<{ state: Record<string, unknown>; run_id: string; updated_at: Date }>(
    'SELECT state, run_id, updated_at FROM sluice.cursors WHERE pipeline = $1',
    [pipeline],
  );
  const row = rows[0];
  if (!row) return undefined;
  const state =
    typeof row.state === 'string' ? (JSON.parse(row.state) as Record<string, unknown>) : row.state;
  return { state, runId: row.run_id, updatedAt: new Date(row.updated_at).toISOString() };
}
