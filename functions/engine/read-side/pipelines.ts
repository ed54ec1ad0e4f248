// Pipelines as the operator sees them: the state later runs start from (bookmarks, cursor, lock) and an overview.
import type { RunStatus } from '../types.js';
import { count, isoText, json, type ReadSource, readSql } from './sql.js';

export interface FileBookmark {
  key: string;
  etag: string;
  size: number;
  runId: string;
  loadedAt: string;
}

export interface PipelineState {
  pipeline: string;
  /** Files (key and ETag) committed runs loaded: later runs skip them. */
  bookmarks: FileBookmark[];
  /** An incremental source's committed position. */
  cursor?: { state: Record<string, unknown>; runId: string; updatedAt: string };
  /** The run holding the pipeline's lock, if one does. */
  lock?: { runId: string; holder: string; acquiredAt: string; expiresAt: string };
}

/**
 * What a pipeline's next run starts from: its file bookmarks, its cursor, and who holds its lock.
 *
 * @example await pipelineState(warehouse, 'orders')
 */
export async function pipelineState(source: ReadSource, pipeline: string): Promise<PipelineState> {
  const sql = readSql(source);
  const [bookmarks, cursors, locks] = await Promise.all([
    sql<{ object_key: string; etag: string; size: unknown; run_id: string; loaded_at: string }>(
      `SELECT object_key, etag, size, run_id, ${isoText('loaded_at')} AS loaded_at
         FROM sluice.file_bookmarks WHERE pipeline = $1 ORDER BY object_key, loaded_at`,
      [pipeline],
    ),
    sql<{ state: unknown; run_id: string; updated_at: string }>(
      `SELECT state, run_id, ${isoText('updated_at')} AS updated_at FROM sluice.cursors WHERE pipeline = $1`,
      [pipeline],
    ),
    sql<{ run_id: string; holder: string; acquired_at: string; expires_at: string }>(
      `SELECT run_id, holder, ${isoText('acquired_at')} AS acquired_at, ${isoText('expires_at')} AS expires_at
         FROM sluice.pipeline_locks WHERE pipeline = $1 AND run_id IS NOT NULL`,
      [pipeline],
    ),
  ]);
  const state: PipelineState = {
    pipeline,
    bookmarks: bookmarks.rows.map((b) => ({
      key: b.object_key,
      etag: b.etag,
      size: count(b.size),
      runId: b.run_id,
      loadedAt: b.loaded_at,
    })),
  };
  const cursor = cursors.rows[0];
  if (cursor)
    state.cursor = { state: json(cursor.state) ?? {}, runId: cursor.run_id, updatedAt: cursor.updated_at };
  const lock = locks.rows[0];
  if (lock)
    state.lock = {
      runId: lock.run_id,
      holder: lock.holder,
      acquiredAt: lock.acquired_at,
      expiresAt: lock.expires_at,
    };
  return state;
}

export interface PipelineOverview {
  pipeline: string;
  runs: number;
  lastRun: { runId: string; status: RunStatus; startedAt: string; finishedAt?: string; error?: string };
  /** When the last succeeded run committed: the data is as fresh as this. */
  lastSucceededAt?: string;
  /** Seconds from lastSucceededAt to `now` (the database's clock). */
  freshnessSeconds?: number;
}

/** Every pipeline that ever ran: its last run, status and freshness, by name. */
export async function pipelinesOverview(source: ReadSource): Promise<PipelineOverview[]> {
  const { rows } = await readSql(source)<{
    pipeline: string;
    runs: unknown;
    run_id: string;
    status: RunStatus;
    started_at: string;
    finished_at: string | null;
    error: string | null;
    last_succeeded_at: string | null;
    freshness_seconds: unknown;
  }>(
    `SELECT p.pipeline, p.runs, last.run_id, last.status, ${isoText('last.started_at')} AS started_at,
            ${isoText('last.finished_at')} AS finished_at, last.error,
            ${isoText('p.last_succeeded_at')} AS last_succeeded_at,
            floor(extract(epoch FROM now() - p.last_succeeded_at))::bigint AS freshness_seconds
       FROM (SELECT pipeline, count(*) AS runs,
                    max(finished_at) FILTER (WHERE status = 'succeeded') AS last_succeeded_at
               FROM sluice.runs GROUP BY pipeline) p
       JOIN LATERAL (SELECT r.run_id, r.status, r.started_at, r.finished_at, r.error FROM sluice.runs r
                      WHERE r.pipeline = p.pipeline ORDER BY r.started_at DESC, r.run_id LIMIT 1) last ON true
      ORDER BY p.pipeline`,
  );
  return rows.map((r) => {
    const overview: PipelineOverview = {
      pipeline: r.pipeline,
      runs: count(r.runs),
      lastRun: {
        runId: r.run_id,
        status: r.status,
        startedAt: r.started_at,
        ...(r.finished_at ? { finishedAt: r.finished_at } : {}),
        ...(r.error ? { error: r.error } : {}),
      },
    };
    if (r.last_succeeded_at) {
      overview.lastSucceededAt = r.last_succeeded_at;
      overview.freshnessSeconds = count(r.freshness_seconds);
    }
    return overview;
  });
}
