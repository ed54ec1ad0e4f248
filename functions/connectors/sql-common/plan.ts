import type { BackfillWindow, CursorState, PlannedChunk, SourcePlan } from '../../sdk/source.js';
import type { SqlChunk, SqlSourceConfig } from './config.js';

/** What planning needs from a database: a few aggregate queries, in its dialect. */
export interface SqlPlanner {
  /** max(cursor)::text over the rows after `gt` (exclusive), or undefined when there are none. */
  maxCursor(column: string, gt: string | undefined, lookback: number): Promise<string | undefined>;
  /** The stored cursor value minus the lookback, as text the database compares exactly. */
  lowerBound(column: string, stored: string, lookback: number): Promise<string>;
  /** min, max (as text) and count of the key in the window. */
  keyStats(key: string, window: SqlChunk['cursor']): Promise<{ min?: string; max?: string; rows: number }>;
  /** n-1 boundaries splitting the key in the window into n parts of equal row counts. */
  quantiles?(key: string, window: SqlChunk['cursor'], n: number): Promise<string[]>;
}

/** A row's width when the database does not say: only routes and progress depend on it. */
const ESTIMATED_ROW_BYTES = 128;

/**
 * Plans a database source: the cursor window (incremental, backfill or everything) and key ranges
 * covering every key exactly once, so chunks never overlap and leave no gaps. Deterministic for the
 * same source state and cursor.
 */
export async function planSqlChunks(
  config: SqlSourceConfig,
  planner: SqlPlanner,
  options: { cursor?: CursorState; backfill?: BackfillWindow; parallelism: number; keySnapshot?: boolean },
): Promise<SourcePlan> {
  let window: SqlChunk['cursor'];
  let nextCursor: CursorState | undefined;
  if (options.keySnapshot && !config.key)
    throw new Error('deletes need source.config.key: the key snapshot lists the source keys by key range');
  if (config.cursor) {
    const column = config.cursor.column;
    if (options.backfill) {
      window = { gte: options.backfill.from, lt: options.backfill.to };
    } else {
      const stored = storedValue(options.cursor, column);
      const upper = await planner.maxCursor(column, stored, 0);
      if (upper === undefined && !options.keySnapshot)
        return { chunks: [], units: [], skipped: 0, ...(options.cursor ? { cursor: options.cursor } : {}) };
      // Nothing changed, but deletes need the key set all the same: key ranges over the whole table.
      if (upper === undefined) {
        const stats = await planner.keyStats(config.key!, undefined);
        return {
          ...keyRangeChunks(await boundariesOf(config, planner, stats, undefined, options), stats.rows, {
            keysOnly: true,
          }),
          ...(options.cursor ? { cursor: options.cursor } : {}),
        };
      }
      const gt =
        stored === undefined
          ? undefined
          : config.cursor.lookback > 0
            ? await planner.lowerBound(column, stored, config.cursor.lookback)
            : stored;
      window = { ...(gt === undefined ? {} : { gt }), lte: upper };
      nextCursor = { column, value: upper };
    }
  } else if (options.backfill) {
    throw new Error('--backfill needs an incremental source: set source.config.cursor.column');
  }

  const cursorPart = window ? { cursor: window } : {};
  if (!config.key) {
    return {
      chunks: [{ bytes: 0, source: { nulls: true, ...cursorPart } }],
      units: [],
      skipped: 0,
      ...(nextCursor ? { cursor: nextCursor } : {}),
    };
  }
  const stats = await planner.keyStats(config.key, window);
  const boundaries = await boundariesOf(config, planner, stats, window, options);
  return {
    ...keyRangeChunks(boundaries, stats.rows, cursorPart),
    ...(nextCursor ? { cursor: nextCursor } : {}),
  };
}

/** Distinct key boundaries splitting the key's [min, max] into about n ranges (none for one chunk). */
async function boundariesOf(
  config: SqlSourceConfig,
  planner: SqlPlanner,
  stats: { min?: string; max?: string },
  window: SqlChunk['cursor'],
  options: { parallelism: number },
): Promise<string[]> {
  const n = Math.max(1, config.chunks ?? options.parallelism);
  let boundaries: string[] = [];
  if (stats.min !== undefined && stats.max !== undefined && n > 1) {
    if (config.split === 'quantiles') {
      if (!planner.quantiles)
        throw new Error('split: quantiles is not supported by this database; use minmax');
      boundaries = await planner.quantiles(config.key!, window, n);
    } else {
      boundaries = integerBoundaries(stats.min, stats.max, n, config.key!);
    }
  }
  return [...new Set(boundaries)];
}

/**
 * Chunks for the ranges between the boundaries: the first takes every key below the first boundary
 * (and null keys), the last every key from the last boundary on, so together they cover every key.
 */
function keyRangeChunks(
  boundaries: string[],
  rows: number,
  extra: Partial<SqlChunk>,
): { chunks: PlannedChunk[]; units: []; skipped: 0 } {
  const perChunk = extra.keysOnly ? 0 : Math.ceil(rows / (boundaries.length + 1)) * ESTIMATED_ROW_BYTES;
  const chunks: PlannedChunk[] = [];
  for (let i = 0; i <= boundaries.length; i++) {
    const source: SqlChunk = {
      ...(i > 0 ? { lo: boundaries[i - 1] } : { nulls: true }),
      ...(i < boundaries.length ? { hi: boundaries[i] } : {}),
      ...extra,
    };
    chunks.push({ bytes: perChunk, source: source as Record<string, unknown> });
  }
  return { chunks, units: [], skipped: 0 };
}

/** Boundaries b1 < … < b(n-1) strictly inside (min, max], splitting [min, max] into n equal ranges. */
export function integerBoundaries(min: string, max: string, n: number, key: string): string[] {
  let lo: bigint;
  let hi: bigint;
  try {
    lo = BigInt(min);
    hi = BigInt(max);
  } catch {
    throw new Error(
      `key "${key}" is not an integer (min ${JSON.stringify(min)}): use split: quantiles or an integer key`,
    );
  }
  const span = hi - lo + 1n;
  const parts = BigInt(n) > span ? span : BigInt(n);
  const out: string[] = [];
  for (let i = 1n; i < parts; i++) out.push(String(lo + (span * i) / parts));
  return out;
}

function storedValue(cursor: CursorState | undefined, column: string): string | undefined {
  if (!cursor) return undefined;
  // A cursor stored for another column would skip or repeat rows: start over rather than guess.
  if (cursor.column !== column) return undefined;
  return typeof cursor.value === 'string' ? cursor.value : undefined;
}
