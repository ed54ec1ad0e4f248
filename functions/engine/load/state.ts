// What later runs start from: file bookmarks (which file versions are loaded) and incremental cursors.
import type { Warehouse, WarehouseTx } from '../ports/warehouse.js';

export interface SourceFile {
  key: string;
  etag: string;
  size: number;
}

// ---------------------------------------------------------------------------------------------------
// Reading

/** `${key}\u0000${etag}`: how loadedFiles identifies a file version. */
export function fileBookmarkKey(key: string, etag: string): string {
  return `${key}\u0000${etag}`;
}

/** Files (key and ETag) the pipeline's committed runs loaded, as fileBookmarkKey strings. */
export async function loadedFiles(wh: Warehouse, pipeline: string): Promise<Set<string>> {
  const { rows } = await wh.query<{ object_key: string; etag: string }>(
    'SELECT object_key, etag FROM sluice.file_bookmarks WHERE pipeline = $1',
    [pipeline],
  );
  return new Set(rows.map((r) => fileBookmarkKey(r.object_key, r.etag)));
}

/** Bookmarks the files a run loaded, inside its commit, so later runs skip them. */
export async function bookmarkFiles(
  tx: WarehouseTx,
  pipeline: string,
  runId: string,
  files: SourceFile[],
): Promise<void> {
  await tx.query(
    `INSERT INTO sluice.file_bookmarks (pipeline, object_key, etag, size, run_id)
     SELECT $1, f.object_key, f.etag, f.size, $2
       FROM unnest($3::text[], $4::text[], $5::bigint[]) AS f(object_key, etag, size)
     ON CONFLICT (pipeline, object_key, etag) DO UPDATE
       SET size = EXCLUDED.size, run_id = EXCLUDED.run_id, loaded_at = now()`,
    [pipeline, runId, files.map((f) => f.key), files.map((f) => f.etag), files.map((f) => String(f.size))],
  );
}

/** Stores an incremental source's new cursor state, inside the run's commit. */
export async function saveCursor(
  tx: WarehouseTx,
  pipeline: string,
  runId: string,
  cursor: unknown,
): Promise<void> {
  await tx.query(
    `INSERT INTO sluice.cursors (pipeline, state, run_id) VALUES ($1, $2::jsonb, $3)
         ON CONFLICT (pipeline) DO UPDATE SET state = EXCLUDED.state, run_id = EXCLUDED.run_id, updated_at = now()`,
    [pipeline, JSON.stringify(cursor), runId],
  );
}

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
