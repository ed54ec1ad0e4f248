import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type CopyFormat, copyCsvStatement } from '../../engine/ports/sql.js';
import {
  type QueryResult,
  type Warehouse,
  type WarehouseTx,
  WarehouseUnavailableError,
} from '../../engine/ports/warehouse.js';
import { SHARED_TYPE_PARSERS } from './type-parsers.js';

/** Where and how to connect; either a URL or the parts. */
export interface PgWarehouseConfig {
  /** postgres://user:password@host:port/database?sslmode=… (wins over the parts). */
  connectionString?: string;
  host?: string;
  /** @default 5432 */
  port?: number;
  user?: string;
  /** The password, or a function asked for it on every new connection (a rotating secret). */
  password?: string | (() => Promise<string>);
  /**
   * Called when the server rejects the password (SQLSTATE 28P01), before one more connection attempt:
   * forget the cached secret there so the retry reads the rotated one. Without it, 28P01 fails at once.
   */
  onAuthenticationFailure?: (err: Error) => void | Promise<void>;
  database?: string;
  ssl?: boolean | ConnectionOptions;
  /** Pool size (connections). @default 4 */
  max?: number;
  /** How long to wait for a connection before WarehouseUnavailableError. @default 10000 */
  connectTimeoutMs?: number;
}

const DEFAULT_PORT = 5432;
/** SQLSTATE invalid_password: wrong password, or one that was just rotated. */
const INVALID_PASSWORD = '28P01';

/** The PostgreSQL / Aurora twin: a pg.Pool, COPY through pg-copy-streams. */
export class PgWarehouse implements Warehouse {
  readonly kind = 'pg' as const;
  readonly description: string;
  private readonly pool: pg.Pool;
  private readonly onAuthenticationFailure: PgWarehouseConfig['onAuthenticationFailure'];

  constructor(config: PgWarehouseConfig) {
    this.description = describePgTarget(config);
    this.onAuthenticationFailure = config.onAuthenticationFailure;
    this.pool = new pg.Pool({
      ...(config.connectionString !== undefined
        ? { connectionString: config.connectionString }
        : {
            host: config.host,
            port: config.port ?? DEFAULT_PORT,
            user: config.user,
            password: config.password,
            database: config.database,
          }),
      ...(config.ssl !== undefined ? { ssl: config.ssl } : {}),
      max: config.max ?? 4,
      connectionTimeoutMillis: config.connectTimeoutMs ?? 10_000,
      types: { getTypeParser: sharedTypeParser },
    });
    // An idle client that loses its server emits here; without a listener Node would crash the process.
    // The next checkout fails and reports WarehouseUnavailableError, which is where callers hear of it.
    this.pool.on('error', () => {});
  }

  async query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    const held = await this.checkout();
    try {
      return toQueryResult<T>(await held.client.query(sql, params));
    } catch (err) {
      throw this.translate(held.lost() ?? err);
    } finally {
      held.release();
    }
  }

  async transaction<T>(fn: (tx: WarehouseTx) => Promise<T>): Promise<T> {
    const held = await this.checkout();
    let broken: Error | undefined;
    const tx = new PgTx(held.client, () => {
      const lost = held.lost();
      return lost && new WarehouseUnavailableError(this.description, lost);
    });
    try {
      await tx.query('BEGIN');
      const result = await fn(tx);
      await tx.query('COMMIT');
      return result;
    } catch (err) {
      if (!held.lost())
        await held.client.query('ROLLBACK').catch((rollbackErr: Error) => {
          broken = rollbackErr;
        });
      throw this.translate(err);
    } finally {
      tx.close();
      // A client whose ROLLBACK failed (or whose connection broke) is in an unknown state: destroy it
      // rather than pool it.
      held.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * A client from the pool with an 'error' listener of its own while it is checked out. The pool listens
   * only to idle clients: a connection that breaks while a client is in use (between two statements, or
   * under a COPY) emits 'error' on the client, which without a listener ends the process. Here it is
   * remembered instead: the statement in flight rejects, and so does every later one on that client.
   */
  private async checkout(): Promise<CheckedOutClient> {
    const client = await this.connect();
    let lost: Error | undefined;
    const onError = (err: Error) => {
      lost ??= err;
    };
    client.on('error', onError);
    let released = false;
    return {
      client,
      lost: () => lost,
      release: (err) => {
        if (released) return;
        released = true;
        client.removeListener('error', onError);
        client.release(err ?? lost);
      },
    };
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      if (!this.onAuthenticationFailure || (err as { code?: string }).code !== INVALID_PASSWORD)
        throw new WarehouseUnavailableError(this.description, err);
      // The secret may have been rotated since it was read: re-read it once, then give up.
      await this.onAuthenticationFailure(err as Error);
      try {
        return await this.pool.connect();
      } catch (again) {
        throw new WarehouseUnavailableError(this.description, again);
      }
    }
  }

  private translate(err: unknown): unknown {
    if (err instanceof WarehouseUnavailableError) return err;
    return isConnectionLoss(err) ? new WarehouseUnavailableError(this.description, err) : err;
  }
}

interface CheckedOutClient {
  client: pg.PoolClient;
  /** The error that broke the client's connection while it was checked out, if one did. */
  lost(): Error | undefined;
  /** Back to the pool (destroyed when `err` is given or the connection broke); once. */
  release(err?: Error): void;
}

class PgTx implements WarehouseTx {
  private open = true;

  constructor(
    private readonly client: pg.PoolClient,
    /** The connection's loss, as the error to throw, once it broke. */
    private readonly lost: () => Error | undefined,
  ) {}

  async query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    this.assertUsable();
    try {
      return toQueryResult<T>(await this.client.query(sql, params));
    } catch (err) {
      throw this.lost() ?? err;
    }
  }

  async copyCsv(
    table: string,
    columns: string[],
    body: Readable | Buffer,
    format: CopyFormat = 'csv',
  ): Promise<number> {
    this.assertUsable();
    const copy = this.client.query(copyFrom(copyCsvStatement(table, columns, 'STDIN', format)));
    // pipeline() destroys the COPY stream when the body fails, which sends CopyFail: the server aborts the
    // COPY (and the transaction) instead of committing a truncated load.
    try {
      await pipeline(Buffer.isBuffer(body) ? Readable.from([body]) : body, copy);
    } catch (err) {
      throw this.lost() ?? err;
    }
    return copy.rowCount;
  }

  close(): void {
    this.open = false;
  }

  private assertUsable(): void {
    if (!this.open)
      throw new Error('transaction already finished: use the tx only inside its transaction() callback');
    const lost = this.lost();
    if (lost) throw lost;
  }
}

const sharedTypeParser: pg.CustomTypesConfig['getTypeParser'] = (oid, format) => {
  const shared = SHARED_TYPE_PARSERS[oid];
  if (shared && (format === undefined || format === 'text')) return shared;
  return pg.types.getTypeParser(oid, format);
};

function toQueryResult<T>(res: pg.QueryResult | pg.QueryResult[]): QueryResult<T> {
  // Several statements without params come back as one result per statement.
  const last = Array.isArray(res) ? res.at(-1) : res;
  return { rows: (last?.rows ?? []) as T[], rowCount: last?.rowCount ?? 0 };
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/** Errors that mean the server went away (rather than the statement being wrong). */
function isConnectionLoss(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (CONNECTION_ERROR_CODES.has(code)) return true;
    // SQLSTATE class 08 (connection exception), admin/crash shutdown, cannot connect now.
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
  }
  return /Connection terminated|Client has encountered a connection error/i.test(err.message);
}

/**
 * Creates a PgWarehouse and checks it answers (`SELECT 1`).
 *
 * @example
 * const wh = await openPgWarehouse({ connectionString: process.env.DATABASE_URL, max: 2 });
 * @throws WarehouseUnavailableError when it cannot be reached (the message never carries a password).
 */
export async function openPgWarehouse(config: PgWarehouseConfig): Promise<PgWarehouse> {
  const wh = new PgWarehouse(config);
  try {
    await wh.query('SELECT 1');
  } catch (err) {
    await wh.close().catch(() => undefined);
    throw err instanceof WarehouseUnavailableError ? err : new WarehouseUnavailableError(wh.description, err);
  }
  return wh;
}

/** `postgres://user@host:port/database`: where a config points, never with its password. */
export function describePgTarget(config: PgWarehouseConfig): string {
  let host = config.host ?? process.env.PGHOST ?? 'localhost';
  let port = String(config.port ?? process.env.PGPORT ?? DEFAULT_PORT);
  let user = config.user ?? process.env.PGUSER ?? process.env.USER ?? '';
  let database = config.database ?? process.env.PGDATABASE ?? user;
  if (config.connectionString !== undefined) {
    let url: URL;
    try {
      url = new URL(config.connectionString);
    } catch {
      return 'postgres://(unparseable connection string)';
    }
    host = decodeURIComponent(url.hostname) || url.searchParams.get('host') || host;
    port = url.port || port;
    user = decodeURIComponent(url.username) || user;
    database = decodeURIComponent(url.pathname.replace(/^\//, '')) || user;
  }
  return `postgres://${user ? `${user}@` : ''}${host}:${port}/${database}`;
}
