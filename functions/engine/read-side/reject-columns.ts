// The columns a run's rows were rejected for, with counts: the choices of the console's reject filter.
import { createInterface } from 'node:readline';
import type { Storage } from '../ports/storage.js';
import type { RejectRecord } from '../types.js';
import { rejectsPrefix } from './rejects.js';

/** A reject for the row as a whole (too many fields, …) has no column: it is listed as this. */
export const WHOLE_ROW = '(row)';

/** Rejects per column over the whole run, most first (then by name). */
export async function rejectColumns(
  storage: Storage,
  runId: string,
): Promise<{ column: string; count: number }[]> {
  const counts = new Map<string, number>();
  for await (const o of storage.list(rejectsPrefix(runId))) {
    if (!o.key.endsWith('.jsonl')) continue;
    const lines = createInterface({ input: await storage.read(o.key), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const column = (JSON.parse(line) as RejectRecord).column ?? WHOLE_ROW;
      counts.set(column, (counts.get(column) ?? 0) + 1);
    }
  }
  return [...counts]
    .map(([column, n]) => ({ column, count: n }))
    .sort((a, b) => b.count - a.count || a.column.localeCompare(b.column));
}
