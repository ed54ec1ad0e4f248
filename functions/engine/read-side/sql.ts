// The read side's SQL port: one query function, and the value decoding that makes pg, PGlite and the RDS Data API agree.
import type { Warehouse } from '../ports/warehouse.js';

/**
 * The only thing the read side needs from a database: run one statement with `$n` parameters and get
 * its rows back as objects keyed by column name. A `Warehouse` (pg, PGlite) is one; the RDS Data API
 * adapter of a deployed stage is another (it needs only `ExecuteStatement`).
 *
 * Every statement here returns values all three carry the same way: timestamps as ISO 8601 text
 * (`isoText`), counts as bigint (read back with `count`, which accepts a number or a string), JSON as
 * `jsonb` (parsed by pg and PGlite, text over the Data API: `json` accepts both), arrays as JSON.
 */
export type ReadSql = <T = Record<string, unknown>>(
  sql: string,
  params?: unknown[],
) => Promise<{ rows: T[] }>;

/** What the read functions accept: a query function, or anything with a `query` method (a Warehouse). */
export type ReadSource = ReadSql | Pick<Warehouse, 'query'>;

/** The query function of a source. */
export function readSql(source: ReadSource): ReadSql {
  return typeof source === 'function' ? source : (sql, params) => source.query(sql, params);
}

/** SQL that prints a timestamptz expression as `2026-01-31T10:00:00.123Z` (NULL stays NULL). */
export function isoText(expr: string): string {
  return `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/** A count as a JavaScript number (bigint arrives as a number or a string, depending on the driver). */
export function count(value: unknown): number {
  if (value === null || value === undefined) return 0;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`not a count: ${JSON.stringify(value)}`);
  return n;
}

/** A count that may be absent (NULL). */
export function optionalCount(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : count(value);
}

/** A JSON column: already parsed (pg, PGlite) or its text (Data API). */
export function json<T>(value: unknown): T | undefined {
  if (value === null || value === undefined) return undefined;
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** Milliseconds between two ISO timestamps, or undefined when either is missing. */
export function millisBetween(from: string | undefined, to: string | undefined): number | undefined {
  return from && to ? Date.parse(to) - Date.parse(from) : undefined;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
