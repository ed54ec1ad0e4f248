// A run's rejected rows and their reasons, read from its staging files through the Storage port.
import { createInterface } from 'node:readline';
import type { Storage } from '../ports/storage.js';
import type { RejectRecord } from '../types.js';
import { UUID } from './sql.js';

/** Where a run's rejects live in staging (the same layout engine/run/layout.ts writes). */
export function rejectsPrefix(runId: string): string {
  return `runs/${runId}/rejects/`;
}

/**
 * `<staging url>/runs/<run>/rejects/` for messages, one `/` between the two whether or not the storage's
 * url ends in one (S3's does: `s3://bucket/`; a folder's does not).
 */
export function rejectsLocation(storage: Pick<Storage, 'url'>, runId: string): string {
  return `${storage.url.replace(/\/+$/, '')}/${rejectsPrefix(runId)}`;
}

export interface RejectFilter {
  /** Only rows refused for this column (exact name). */
  column?: string;
  /** Only rows whose reason contains this text (case-insensitive). */
  reason?: string;
  /** At most this many rows in `rows` (`matched` still counts them all). @default 100 */
  limit?: number;
}

export interface RejectsPage {
  runId: string;
  /** `<staging url>/runs/<run>/rejects/`: where the files are. */
  location: string;
  /** The matching rejects, in chunk order then file order, at most `limit`. */
  rows: RejectRecord[];
  /** How many rejects match the filter in all. */
  matched: number;
  /** How many rejects the run has in all. */
  total: number;
}

/**
 * Reads a run's rejects files (`runs/<run>/rejects/<chunk>.jsonl`, one JSON object a line) and returns
 * those that match. Streams each file: memory holds only the page.
 *
 * @example await readRejects(staging, runId, { column: 'amount', limit: 20 })
 */
export async function readRejects(
  storage: Storage,
  runId: string,
  filter: RejectFilter = {},
): Promise<RejectsPage> {
  assertRunId(runId);
  const limit = Math.max(0, Math.trunc(filter.limit ?? 100));
  const needle = filter.reason?.toLowerCase();
  const page: RejectsPage = {
    runId,
    location: rejectsLocation(storage, runId),
    rows: [],
    matched: 0,
    total: 0,
  };
  for (const key of await rejectFiles(storage, runId, '.jsonl')) {
    const lines = createInterface({ input: await storage.read(key), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const reject = JSON.parse(line) as RejectRecord;
      page.total++;
      if (filter.column !== undefined && reject.column !== filter.column) continue;
      if (needle !== undefined && !reject.reason.toLowerCase().includes(needle)) continue;
      page.matched++;
      if (page.rows.length < limit) page.rows.push(reject);
    }
  }
  return page;
}

/**
 * A run's reject reasons, most frequent first, summed over its chunks' `<chunk>.reasons.json` files
 * (reasons that differ only by the refused value count as one).
 */
export async function rejectReasons(
  storage: Storage,
  runId: string,
  top = 5,
): Promise<{ reason: string; count: number }[]> {
  return (await allRejectReasons(storage, runId)).slice(0, top);
}

/** Every reason of a run with its count, most frequent first (their sum is the rows its files hold). */
export async function allRejectReasons(
  storage: Storage,
  runId: string,
): Promise<{ reason: string; count: number }[]> {
  assertRunId(runId);
  const totals = new Map<string, number>();
  for (const key of await rejectFiles(storage, runId, '.reasons.json')) {
    const counts = JSON.parse((await storage.readBytes(key)).toString('utf8')) as Record<string, number>;
    for (const [reason, n] of Object.entries(counts)) totals.set(reason, (totals.get(reason) ?? 0) + n);
  }
  return [...totals.entries()]
    .map(([reason, n]) => ({ reason, count: n }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

async function rejectFiles(storage: Storage, runId: string, suffix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of storage.list(rejectsPrefix(runId))) {
    // `<chunk>.jsonl` only: `<chunk>.reasons.json` ends in .json, never .jsonl.
    if (o.key.endsWith(suffix)) keys.push(o.key);
  }
  return keys.sort(byChunkNumber);
}

/** Chunk ids end in a number (`c-9`, `c-10`): order them as numbers, not as text. */
function byChunkNumber(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function assertRunId(runId: string): void {
  if (!UUID.test(runId)) throw new Error(`run id must be a UUID, got ${JSON.stringify(runId)}`);
}
