// Reads a run's rejected rows back from staging (runs/<run>/rejects/*.jsonl) for the console, filtered.
import type { Storage } from '../ports/storage.js';
import { stagingLayout } from '../run/layout.js';

/** One rejected row as process-chunks wrote it: where it came from, why, and the row as read. */
export interface RejectRecord {
  chunk: string;
  /** `file:line` of the row in its source (or the source's own position). */
  location?: string;
  column?: string;
  reason: string;
  row?: unknown;
}

export interface RejectFilter {
  /** Only rejects of this column (exact). */
  column?: string;
  /** Only rejects of this chunk. */
  chunk?: string;
  /** Only rejects whose reason contains this text. */
  reason?: string;
  /** At most this many rows in `rejects` (the counts cover every match). @default 200 */
  limit?: number;
}

export interface RejectPage {
  rejects: RejectRecord[];
  /** Every reject of the run. */
  total: number;
  /** Rejects the filter matched (rejects.length is min(matched, limit)). */
  matched: number;
  /** Rejects per column over the whole run, most first: what the filter can choose from. */
  columns: Array<{ column: string; count: number }>;
  /** Where the files are, for a message the user can follow. */
  location: string;
}

const NO_COLUMN = '(row)';

/** The rejects of one run matching the filter; a run without rejects files has none. */
export async function readRejects(
  staging: Storage,
  runId: string,
  filter: RejectFilter = {},
): Promise<RejectPage> {
  const limit = Math.max(1, Math.trunc(filter.limit ?? 200));
  const prefix = stagingLayout.rejectsPrefix(runId);
  const rejects: RejectRecord[] = [];
  const perColumn = new Map<string, number>();
  let total = 0;
  let matched = 0;
  for await (const object of staging.list(prefix)) {
    if (!object.key.endsWith('.jsonl')) continue;
    const text = (await staging.readBytes(object.key)).toString('utf8');
    let lineNo = 0;
    for (const line of text.split('\n')) {
      lineNo++;
      if (line.trim() === '') continue;
      const record = parseReject(line, `${staging.url}/${object.key}:${lineNo}`);
      total++;
      const column = record.column ?? NO_COLUMN;
      perColumn.set(column, (perColumn.get(column) ?? 0) + 1);
      if (filter.column !== undefined && column !== filter.column) continue;
      if (filter.chunk !== undefined && record.chunk !== filter.chunk) continue;
      if (filter.reason && !record.reason.includes(filter.reason)) continue;
      matched++;
      if (rejects.length < limit) rejects.push(record);
    }
  }
  return {
    rejects,
    total,
    matched,
    columns: [...perColumn].map(([column, count]) => ({ column, count })).sort((a, b) => b.count - a.count),
    location: `${staging.url}/${prefix}`,
  };
}

function parseReject(line: string, where: string): RejectRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error(`${where}: a rejects file line is not JSON`);
  }
  const r = value as Partial<RejectRecord> | null;
  if (!r || typeof r !== 'object' || typeof r.reason !== 'string' || typeof r.chunk !== 'string')
    throw new Error(`${where}: a reject without a reason or chunk`);
  return {
    chunk: r.chunk,
    reason: r.reason,
    ...(typeof r.location === 'string' ? { location: r.location } : {}),
    ...(typeof r.column === 'string' ? { column: r.column } : {}),
    ...('row' in r ? { row: r.row } : {}),
  };
}
