// What later runs start from: file bookmarks (which file versions are loaded) and incremental cursors.
import type { Warehouse, WarehouseTx } from '../ports/warehouse.js';

export interface SourceFile {
  key: string;
  etag: string;
  size: number;
  /** SHA-256 of the whole content, when the plan read it whole (see PreviousFileVersion). */
  sha256?: string;
}

/** The latest bookmarked version of a file key: what a changed file is compared with. */
export interface BookmarkedFile {
  etag: string;
  size: number;
  sha256?: string;
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

/** The latest bookmarked version of each file key the pipeline's committed runs loaded. */
export async function bookmarkedFiles(wh: Warehouse, pipeline: string): Promise<Map<string, BookmarkedFile>> {
  const { rows } = await wh.query<{ object_key: string; etag: string; size: string; sha256: string | null }>(
    `SELECT DISTINCT ON (object_key) object_key, etag, size::text AS size, content_sha256 AS sha256
       FROM sluice.file_bookmarks WHERE pipeline = $1
      ORDER BY object_key, loaded_at DESC, size DESC`,
    [pipeline],
  );
  return new Map(
    rows.map((r) => [
      r.object_key,
      { etag: r.etag, size: Number(r.size), ...(r.sha256 ? { sha256: r.sha256 } : {}) },
    ]),
  );
}

/** Bookmarks the files a run loaded, inside its commit, so later runs skip them. */
export async function bookmarkFiles(
  tx: WarehouseTx,
  pipeline: string,
  runId: string,
  files: SourceFile[],
): Promise<void> {
  await tx.query(
    `INSERT INTO sluice.file_bookmarks (pipeline, object_key, etag, size, run_id, content_sha256)
     SELECT $1, f.object_key, f.etag, f.size, $2, f.sha256
       FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[]) AS f(object_key, etag, size, sha256)
     ON CONFLICT (pipeline, object_key, etag) DO UPDATE
       SET size = EXCLUDED.size, run_id = EXCLUDED.run_id, loaded_at = now(),
           content_sha256 = coalesce(EXCLUDED.content_sha256, sluice.file_bookmarks.content_sha256)`,
    [
      pipeline,
      runId,
      files.map((f) => f.key),
      files.map((f) => f.etag),
      files.map((f) => String(f.size)),
      files.map((f) => f.sha256 ?? null),
    ],
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
