// One run in full: its record, phases with timings, chunks with counts and durations, reject reasons, events.
import type { Storage } from '../ports/storage.js';
import type { ChunkRoute } from '../types.js';
import { allRejectReasons, rejectsLocation } from './rejects.js';
import { getRun, type RunRecord } from './runs.js';
import { count, isoText, json, millisBetween, type ReadSource, readSql } from './sql.js';

export interface RunPhase {
  /** prepare: started → planned; chunks: planned → last chunk loaded; commit (or fail): → finished. */
  name: 'prepare' | 'chunks' | 'commit' | 'fail';
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
}

export interface ChunkRecord {
  chunkId: string;
  seq: number;
  route: ChunkRoute;
  read: number;
  staged: number;
  rejected: number;
  filtered: number;
  bytes: number;
  /** When its load started and finished (absent for chunks loaded before migration 5). */
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
}

export interface RunEvent {
  seq: number;
  at: string;
  kind: string;
  actor: string;
  detail: unknown;
}

export interface RunDetail {
  run: RunRecord;
  phases: RunPhase[];
  chunks: ChunkRecord[];
  /** Partitions the run's commit touched. */
  partitions: string[];
  /** Top reject reasons (absent when the read side was given no staging storage). */
  topRejectReasons?: { reason: string; count: number }[];
  /** Where the run's rejected rows are, when it has any and staging was given. */
  rejectsLocation?: string;
  /** The run's audit records, oldest first (absent when this login may not read the audit log). */
  events?: RunEvent[];
  /** What could not be read, said instead of left out quietly. */
  warnings: string[];
}

interface ChunkRow {
  chunk_id: string;
  seq: unknown;
  route: ChunkRoute;
  rows_read: unknown;
  rows_staged: unknown;
  rows_rejected: unknown;
  rows_filtered: unknown;
  bytes: unknown;
  started_at: string | null;
  finished_at: string | null;
}

/**
 * Everything about one run, or undefined when there is no such run.
 *
 * @example await getRunDetail(warehouse, runId, { staging: new FolderStorage('.sluice/staging') })
 */
export async function getRunDetail(
  source: ReadSource,
  runId: string,
  options: { staging?: Storage } = {},
): Promise<RunDetail | undefined> {
  const sql = readSql(source);
  const run = await getRun(sql, runId);
  if (!run) return undefined;
  const { rows } = await sql<ChunkRow>(
    `SELECT chunk_id, seq, route, rows_read, rows_staged, rows_rejected, rows_filtered, bytes,
            ${isoText('started_at')} AS started_at, ${isoText('finished_at')} AS finished_at
       FROM sluice.run_chunks WHERE run_id = $1 ORDER BY seq`,
    [runId],
  );
  const chunks = rows.map(toChunkRecord);
  const warnings: string[] = [];
  const detail: RunDetail = {
    run,
    phases: runPhases(run, chunks),
    chunks,
    partitions: run.partitions,
    warnings,
  };
  if (options.staging) {
    const reasons = await allRejectReasons(options.staging, runId);
    detail.topRejectReasons = reasons.slice(0, 5);
    if (run.counts.rejected > 0) detail.rejectsLocation = rejectsLocation(options.staging, runId);
    // Staging of another home, or cleaned up: say so rather than show a run without its rejects.
    const inFiles = reasons.reduce((n, r) => n + r.count, 0);
    if (inFiles < run.counts.rejected && run.status !== 'running')
      warnings.push(
        `the ledger counts ${run.counts.rejected} rejected row(s) but the rejects files under ${rejectsLocation(options.staging, runId)} hold ${inFiles}: is this the staging the run wrote to?`,
      );
  }
  const events = await runEvents(sql, runId).catch((err: unknown) => {
    // 42501: the login has no SELECT on sluice.audit_log (the reader role); say so, show the rest.
    if ((err as { code?: string }).code !== '42501') throw err;
    warnings.push('events not shown: this login may not read sluice.audit_log (the auditor role can)');
    return undefined;
  });
  if (events) detail.events = events;
  return detail;
}

async function runEvents(sql: ReturnType<typeof readSql>, runId: string): Promise<RunEvent[]> {
  const { rows } = await sql<{ seq: unknown; at: string; kind: string; actor: string; detail: string }>(
    `SELECT seq, ${isoText('at')} AS at, kind, actor, detail FROM sluice.audit_log WHERE run_id = $1 ORDER BY seq`,
    [runId],
  );
  return rows.map((r) => ({
    seq: count(r.seq),
    at: r.at,
    kind: r.kind,
    actor: r.actor,
    detail: json(r.detail),
  }));
}

function toChunkRecord(r: ChunkRow): ChunkRecord {
  const chunk: ChunkRecord = {
    chunkId: r.chunk_id,
    seq: count(r.seq),
    route: r.route,
    read: count(r.rows_read),
    staged: count(r.rows_staged),
    rejected: count(r.rows_rejected),
    filtered: count(r.rows_filtered),
    bytes: count(r.bytes),
  };
  if (r.started_at) chunk.startedAt = r.started_at;
  if (r.finished_at) chunk.finishedAt = r.finished_at;
  const ms = millisBetween(r.started_at ?? undefined, r.finished_at ?? undefined);
  if (ms !== undefined) chunk.durationMs = ms;
  return chunk;
}

/** The run's phases from its timestamps: what is not known yet (a running run) has no end. */
export function runPhases(run: RunRecord, chunks: ChunkRecord[]): RunPhase[] {
  const phase = (name: RunPhase['name'], startedAt: string, finishedAt: string | undefined): RunPhase => {
    const ms = millisBetween(startedAt, finishedAt);
    return {
      name,
      startedAt,
      ...(finishedAt ? { finishedAt } : {}),
      ...(ms !== undefined ? { durationMs: ms } : {}),
    };
  };
  const end = run.status === 'running' ? undefined : run.finishedAt;
  if (!run.plannedAt) return [phase(run.status === 'failed' ? 'fail' : 'prepare', run.startedAt, end)];
  const phases = [phase('prepare', run.startedAt, run.plannedAt)];
  const lastChunk = chunks
    .map((c) => c.finishedAt)
    .filter((t): t is string => t !== undefined)
    .sort()
    .at(-1);
  const allLoaded = run.chunkCount !== undefined && chunks.length >= run.chunkCount;
  const chunksEnd = allLoaded ? (lastChunk ?? run.plannedAt) : run.status === 'running' ? undefined : end;
  phases.push(phase('chunks', run.plannedAt, chunksEnd));
  if (allLoaded && chunksEnd)
    phases.push(phase(run.status === 'succeeded' ? 'commit' : 'fail', chunksEnd, end));
  return phases;
}
