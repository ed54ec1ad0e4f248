/** Shared shapes of the engine. Everything that crosses a state boundary is JSON and small. */

/** A row as it flows through transforms: column name to value (strings from CSV, JSON values from JSONL). */
export type Row = Record<string, unknown>;

/** Where a record came from, for reject messages: `orders-2026-01.csv:1234` (line) or `events.jsonl:17`. */
export type RecordLocation = string;

/** A record a source produced: either values, or a record it could not parse (quarantined as such). */
export type SourceRecord =
  | { kind: 'row'; row: Row; location: RecordLocation; change?: RowChange }
  | { kind: 'unparseable'; raw: string; location: RecordLocation; reason: string };

/**
 * What a change data capture source says of a row it delivers: an insert, an update (the row's new
 * values) or a delete (the row's key values), the position and time of the transaction that made it.
 */
export interface RowChange {
  op: 'insert' | 'update' | 'delete';
  /** Where the transaction committed in the source's log (PostgreSQL: the commit LSN, `16/B374D848`). */
  position: string;
  /** When it committed, as timestamptz text (`2026-12-05 00:17:01.123456+00`). */
  at: string;
  /** Columns the change did not carry and did not change (PostgreSQL: unchanged TOASTed values). */
  unchanged?: string[];
}

/** Compute a chunk runs on. */
export type ChunkRoute = 'lambda' | 'fargate';

/**
 * One unit of work, planned by Prepare and processed once by a chunk worker. `source` is
 * connector-specific JSON (for files: the object key, its ETag, and a byte range that starts and ends
 * on record boundaries).
 */
export interface ChunkDescriptor {
  /** Stable within a run: the same plan yields the same ids. */
  id: string;
  /** 0-based order of the chunk in the run; later chunks win when upsert/dedupe picks one row per key. */
  seq: number;
  /** Estimated uncompressed input bytes, for routing and progress. */
  bytes: number;
  route: ChunkRoute;
  source: Record<string, unknown>;
}

/** What the Map iterates: a batch of chunks of one run (ItemBatcher's shape). */
export interface ChunkBatchInput {
  Items: ChunkDescriptor[];
  BatchInput: { runId: string };
}

/** Per-chunk counts; `read = staged + rejected + filtered` for every chunk. */
export interface ChunkCounts {
  read: number;
  staged: number;
  rejected: number;
  filtered: number;
}

/** One quarantined row, written as a JSON line to the run's rejects file for its chunk. */
export interface RejectRecord {
  chunk: string;
  location: RecordLocation;
  column?: string;
  reason: string;
  /** The row as read (or the raw text, when it could not be parsed). */
  row: Row | string;
}

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'abandoned';

/** What a finished run reports; `read = loaded + rejected + filtered` always holds. */
export interface RunSummary {
  runId: string;
  pipeline: string;
  status: RunStatus;
  read: number;
  loaded: number;
  rejected: number;
  filtered: number;
  /** Rows dropped by filter transforms. */
  filteredByRule: number;
  /** Rows superseded by a later row with the same key in this run (upsert, dedupe). */
  deduplicated: number;
  chunks: number;
  /** Files (or other source units) this run skipped because an earlier run loaded them. */
  skippedSources: number;
  partitions: string[];
  topRejectReasons: { reason: string; count: number }[];
  rejectsLocation?: string;
  /** Source columns the destination did not have: added (evolve) or not loaded (discard). */
  schemaEvolution?: { policy: 'evolve' | 'freeze' | 'discard'; added: string[]; discarded: string[] };
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  error?: string;
}

export const ZERO_COUNTS: ChunkCounts = Object.freeze({ read: 0, staged: 0, rejected: 0, filtered: 0 });
