// The Warehouse port: the database as the engine needs it (PostgreSQL/Aurora and PGlite implement it).
import type { Readable } from 'node:stream';
import type { CopyFormat } from './sql.js';

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

/**
 * Statements inside one open transaction.
 *
 * Both twins return the same JavaScript values: bigint → number (a string beyond 2^53, never lossy),
 * numeric → string, date and timestamp (without time zone) → the text PostgreSQL prints
 * (`2024-01-31`, `2024-01-31 10:00:00`), timestamptz → Date, json/jsonb → parsed.
 * Without params, `sql` may hold several statements; the result is the last statement's.
 */
export interface WarehouseTx {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /**
   * Runs `COPY <table> (<columns>) FROM STDIN WITH (FORMAT csv)` with the given CSV body and returns
   * the number of rows copied. The body is PostgreSQL CSV (NULL is an unquoted empty field), or with
   * `format: 'binary'` PostgreSQL's binary COPY (header, tuples, trailer).
   * `table` (`name` or `schema.name`) and `columns` are plain identifiers: the adapter quotes them.
   */
  copyCsv(table: string, columns: string[], body: Readable | Buffer, format?: CopyFormat): Promise<number>;
}

/**
 * The database as the engine needs it. Two twins implement it: `pg` (PostgreSQL, Aurora; COPY through
 * pg-copy-streams) and PGlite (embedded; COPY through /dev/blob). Both serialise their own transactions
 * correctly, so callers can run several at once.
 */
export interface Warehouse {
  readonly kind: 'pg' | 'pglite';
  /** Where it points, without credentials, for messages. */
  readonly description: string;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** Runs fn in one transaction: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(fn: (tx: WarehouseTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export class WarehouseUnavailableError extends Error {
  constructor(description: string, cause: unknown) {
    super(
      `cannot reach the database at ${description}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'WarehouseUnavailableError';
  }
}
