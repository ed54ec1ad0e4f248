import type { SqlChunk, SqlSourceConfig } from './config.js';
import { chunkPredicate } from './where.js';

/** Identifier quoting of one SQL dialect (`"x"` for PostgreSQL, `` `x` `` for MySQL). */
export type Quote = (name: string) => string;

/** What the source reads from: the table (schema-qualified as written), or the query as a subquery. */
export function relation(config: SqlSourceConfig, quote: Quote): string {
  if (config.table) return config.table.split('.').map(quote).join('.');
  return `(${config.query}) AS sluice_source`;
}

/** The configured columns, or every column. */
export function selectList(config: SqlSourceConfig, quote: Quote): string {
  return config.columns ? config.columns.map(quote).join(', ') : '*';
}

/**
 * The query that reads one chunk: its key range and cursor window as parameters, in key order (else
 * cursor order), so the rows' locations and the deduper's "last wins" are stable.
 */
export function chunkQuery(
  config: SqlSourceConfig,
  chunk: SqlChunk,
  quote: Quote,
  param: (index: number) => string,
): { sql: string; params: string[] } {
  const where = chunkPredicate(chunk, config.key, config.cursor?.column, quote, param);
  const order = config.key ?? config.cursor?.column;
  return {
    sql: `SELECT ${selectList(config, quote)} FROM ${relation(config, quote)} WHERE ${where.sql}${order ? ` ORDER BY ${quote(order)}` : ''}`,
    params: where.params,
  };
}

/**
 * The query that lists one chunk's key values for the key snapshot (deletes): the chunk's key range
 * without its cursor window, non-null keys only, in key order.
 */
export function keysQuery(
  config: SqlSourceConfig,
  chunk: SqlChunk,
  quote: Quote,
  param: (index: number) => string,
): { sql: string; params: string[] } {
  if (!config.key) throw new Error('the key snapshot needs source.config.key');
  const { cursor: _window, ...range } = chunk;
  const where = chunkPredicate({ ...range, nulls: false }, config.key, undefined, quote, param);
  const k = quote(config.key);
  return {
    sql: `SELECT ${k} AS k FROM ${relation(config, quote)} WHERE ${where.sql} AND ${k} IS NOT NULL ORDER BY ${k}`,
    params: where.params,
  };
}

/** A driver error's message, for errors that say what failed (AggregateError: its first cause). */
export function describeDriverError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describeDriverError(err.errors[0]);
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name;
  return String(err);
}
