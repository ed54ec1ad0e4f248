import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { PGlite, type Results, type Transaction } from '@electric-sql/pglite';
import { type CopyFormat, copyCsvStatement } from '../../engine/ports/sql.js';
import {
  type QueryResult,
  type Warehouse,
  type WarehouseTx,
  WarehouseUnavailableError,
} from '../../engine/ports/warehouse.js';
import { SHARED_TYPE_PARSERS } from './type-parsers.js';

/**
 * The embedded twin: PostgreSQL in WASM, persistent in a folder (or in memory).
 *
 * PGlite is one connection. Every call takes an async mutex, so a `query` from one caller never lands
 * inside another caller's open transaction and transactions run one at a time; callers can still run
 * several at once, exactly as with the pg twin.
 *
 * @example
 * const wh = await PgliteWarehouse.open('.sluice/db');
 */
export class PgliteWarehouse implements Warehouse {
  readonly kind = 'pglite' as const;
  private readonly mutex = new AsyncMutex();
  // Marks the async context of a running transaction callback, to turn a self-deadlock into an error.
  private readonly inTransaction = new AsyncLocalStorage<true>();

  private constructor(
    private readonly db: PGlite,
    readonly description: string,
  ) {}

  /** Opens (creating it if needed) the database in `dataDir`, or an in-memory one when omitted. */
  static async open(dataDir?: string): Promise<PgliteWarehouse> {
    const description = dataDir ? `pglite://${dataDir}` : 'pglite://memory';
    try {
      if (dataDir) await mkdir(dataDir, { recursive: true });
      const db = await PGlite.create({ ...(dataDir ? { dataDir } : {}), parsers: SHARED_TYPE_PARSERS });
      return new PgliteWarehouse(db, description);
    } catch (err) {
      throw new WarehouseUnavailableError(description, err);
    }
  }

  async query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    this.assertNotInsideTransaction('query');
    return this.mutex.run(() => {
      this.assertOpen();
      return runQuery<T>(this.db, sql, params);
    });
  }

  async transaction<T>(fn: (tx: WarehouseTx) => Promise<T>): Promise<T> {
    this.assertNotInsideTransaction('transaction');
    return this.mutex.run(() => {
      this.assertOpen();
      return this.db.transaction(async (raw) => {
        const tx = new PgliteTx(raw);
        try {
          return await this.inTransaction.run(true, () => fn(tx));
        } finally {
          tx.close();
        }
      });
    });
  }

  close(): Promise<void> {
    return this.mutex.run(async () => {
      if (!this.db.closed) await this.db.close();
    });
  }

  private assertOpen(): void {
    if (this.db.closed) throw new Error(`${this.description} is closed`);
  }

  private assertNotInsideTransaction(what: string): void {
    if (this.inTransaction.getStore()) {
      throw new Error(
        `${what}() called on the warehouse inside one of its own transactions: PGlite has one connection, so this would wait forever. Use the tx argument.`,
      );
    }
  }
}

class PgliteTx implements WarehouseTx {
  private open = true;

  constructor(private readonly raw: Transaction) {}

  async query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    this.assertOpen();
    return runQuery<T>(this.raw, sql, params);
  }

  async copyCsv(
    table: string,
    columns: string[],
    body: Readable | Buffer,
    format: CopyFormat = 'csv',
  ): Promise<number> {
    this.assertOpen();
    // PGlite has no COPY FROM STDIN: it reads COPY input (CSV or binary) from a Blob mounted at /dev/blob.
    const blob = Buffer.isBuffer(body) ? new Blob([body]) : await collectToBlob(body);
    const res = await this.raw.query(copyCsvStatement(table, columns, "'/dev/blob'", format), [], { blob });
    return res.rowCount ?? res.affectedRows ?? 0;
  }

  close(): void {
    this.open = false;
  }

  private assertOpen(): void {
    if (!this.open)
      throw new Error('transaction already finished: use the tx only inside its transaction() callback');
  }
}

type Queryable = Pick<Transaction, 'query' | 'exec'>;

async function runQuery<T>(db: Queryable, sql: string, params?: unknown[]): Promise<QueryResult<T>> {
  // Without params, run the simple protocol (several statements allowed), like node-postgres does.
  const res: Results | undefined =
    params && params.length > 0 ? await db.query(sql, params) : (await db.exec(sql)).at(-1);
  if (!res) return { rows: [], rowCount: 0 };
  const rowCount = res.rows.length > 0 ? res.rows.length : (res.rowCount ?? res.affectedRows ?? 0);
  return { rows: res.rows as T[], rowCount };
}

async function collectToBlob(body: Readable): Promise<Blob> {
  const parts: Buffer[] = [];
  for await (const chunk of body)
    parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return new Blob(parts);
}

/** A FIFO lock for async work: run(fn) waits for every earlier run to settle. */
export class AsyncMutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
