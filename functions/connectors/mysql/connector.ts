import type mysql from 'mysql2';
import type { SourceRecord } from '../../sdk/index.js';
import { type DiscoveredColumn, defineSource, type SourceContext } from '../../sdk/source.js';
import { type SqlChunk, type SqlSourceConfig, sqlSourceConfig } from '../sql-common/config.js';
import { planSqlChunks, type SqlPlanner } from '../sql-common/plan.js';
import { chunkQuery, describeDriverError, keysQuery, relation, selectList } from '../sql-common/query.js';
import { windowPredicate } from '../sql-common/where.js';

export const mysqlSourceConfig = sqlSourceConfig(3306);
export type MysqlSourceConfig = SqlSourceConfig;

type Connection = mysql.Connection;

/**
 * MySQL / MariaDB source: a table or a query, split into key ranges read in parallel, incremental by
 * a cursor column. Each chunk is one bounded range query in a read-only consistent-snapshot
 * transaction, streamed row by row.
 */
export default defineSource<MysqlSourceConfig>({
  name: 'mysql',
  description: 'MySQL or MariaDB table or query: key-range chunks, incremental by a cursor column',
  configSchema: mysqlSourceConfig,
  cannotBackfill: (config) =>
    config.cursor
      ? undefined
      : 'a backfill window is a range of the cursor column: set source.config.cursor.column',
  network: (config) => ({ access: 'database-port', ports: [config.connection.port] }),

  async check(ctx) {
    await withConnection(ctx, (conn) => run(conn, `SELECT 1 FROM ${relation(ctx.config, quoteId)} LIMIT 0`));
  },

  async discover(ctx) {
    return withConnection(ctx, async (conn) => {
      const [, fields] = await conn
        .promise()
        .query(`SELECT ${selectList(ctx.config, quoteId)} FROM ${relation(ctx.config, quoteId)} LIMIT 0`);
      const packets = fields as mysql.FieldPacket[];
      const columns: DiscoveredColumn[] = packets.map((f) => ({
        name: f.name,
        type: destinationType(f.type ?? 253, f),
        nullable: (numericFlags(f.flags) & NOT_NULL_FLAG) === 0,
      }));
      // The primary key of the one table read, in key order, when every one of its columns is read.
      const primaryKey = ctx.config.table
        ? await run(
            conn,
            `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
              WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
              ORDER BY ORDINAL_POSITION`,
            tableParts(ctx.config.table),
          ).then((rows) => rows.map((r) => String(r.name)))
        : [];
      const complete = primaryKey.length > 0 && primaryKey.every((k) => columns.some((c) => c.name === k));
      return [{ name: ctx.config.table ?? 'query', columns, ...(complete ? { primaryKey } : {}) }];
    });
  },

  async plan(ctx) {
    return withConnection(ctx, async (conn) => {
      const rel = relation(ctx.config, quoteId);
      const probe = [ctx.config.key, ctx.config.cursor?.column].filter((c): c is string => c !== undefined);
      await run(conn, `SELECT ${probe.map(quoteId).join(', ') || '1'} FROM ${rel} LIMIT 0`);
      const window = (w: SqlChunk['cursor'], params: string[]) =>
        windowPredicate(w, ctx.config.cursor?.column, quoteId, (v) => {
          params.push(v);
          return '?';
        });
      const planner: SqlPlanner = {
        async maxCursor(column, gt) {
          const c = quoteId(column);
          const rows = await run(
            conn,
            `SELECT CAST(MAX(${c}) AS CHAR) AS v FROM ${rel}${gt === undefined ? '' : ` WHERE ${c} > ?`}`,
            gt === undefined ? [] : [gt],
          );
          return (rows[0]?.v as string | null) ?? undefined;
        },
        async lowerBound(_column, stored, lookback) {
          const isTime = /^\d{4}-\d\d-\d\d/.test(stored);
          const rows = await run(
            conn,
            isTime
              ? 'SELECT CAST(CAST(? AS DATETIME(6)) - INTERVAL ? MICROSECOND AS CHAR) AS v'
              : 'SELECT CAST(? - ? AS CHAR) AS v',
            [stored, isTime ? String(Math.round(lookback * 1e6)) : String(lookback)],
          );
          return String(rows[0]!.v);
        },
        async keyStats(key, w) {
          const k = quoteId(key);
          const params: string[] = [];
          const where = window(w, params);
          const rows = await run(
            conn,
            `SELECT CAST(MIN(${k}) AS CHAR) AS min, CAST(MAX(${k}) AS CHAR) AS max, COUNT(*) AS n FROM ${rel}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
            params,
          );
          const row = rows[0]!;
          return {
            ...(row.min === null ? {} : { min: String(row.min) }),
            ...(row.max === null ? {} : { max: String(row.max) }),
            rows: Number(row.n),
          };
        },
      };
      return planSqlChunks(ctx.config, planner, {
        ...(ctx.cursor ? { cursor: ctx.cursor } : {}),
        ...(ctx.backfill ? { backfill: ctx.backfill } : {}),
        parallelism: ctx.parallelism,
        ...(ctx.keySnapshot ? { keySnapshot: true } : {}),
      });
    });
  },

  async *read(chunk, ctx): AsyncGenerator<SourceRecord> {
    const config = ctx.config;
    if ((chunk.source as SqlChunk).keysOnly) return;
    const { sql, params } = chunkQuery(config, chunk.source as SqlChunk, quoteId, () => '?');
    const conn = await connect(ctx);
    let finished = false;
    try {
      await run(conn, 'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      // One snapshot for the whole chunk, and no writes whatever the query says.
      await run(conn, 'START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT');
      const label = config.table ?? 'query';
      let n = 0;
      const stream = conn.query(sql, params).stream({ highWaterMark: config.fetchSize });
      for await (const row of stream as AsyncIterable<Record<string, string | null>>) {
        n++;
        const at = config.key ? `${config.key}=${row[config.key]}` : `row ${n}`;
        yield { kind: 'row', row, location: `${label} ${at}` };
      }
      await run(conn, 'COMMIT');
      finished = true;
    } finally {
      // A reader that stops early leaves a half-read result on the wire: drop the connection.
      if (finished) await new Promise<void>((res) => conn.end(() => res()));
      else conn.destroy();
    }
  },

  keyColumn: (config) => config.key,

  /** The chunk's key range, without its cursor window, streamed in one consistent snapshot. */
  async *readKeys(chunk, ctx): AsyncGenerator<string[]> {
    const { sql, params } = keysQuery(ctx.config, chunk.source as SqlChunk, quoteId, () => '?');
    const conn = await connect(ctx);
    let finished = false;
    try {
      await run(conn, 'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await run(conn, 'START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT');
      const stream = conn.query(sql, params).stream({ highWaterMark: ctx.config.fetchSize });
      let batch: string[] = [];
      for await (const row of stream as AsyncIterable<{ k: string }>) {
        batch.push(row.k);
        if (batch.length >= ctx.config.fetchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
      await run(conn, 'COMMIT');
      finished = true;
    } finally {
      if (finished) await new Promise<void>((res) => conn.end(() => res()));
      else conn.destroy();
    }
  },
});

async function connect(ctx: SourceContext<MysqlSourceConfig>): Promise<Connection> {
  const c = ctx.config.connection;
  const password = await ctx.credential('password', { optional: true });
  // The driver loads on first use: it is ~50 ms of module loading that no other pipeline should pay.
  const { createConnection } = (await import('mysql2')).default;
  const conn = createConnection({
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    ...(password === undefined ? {} : { password }),
    ...(c.ssl ? { ssl: { rejectUnauthorized: true } } : {}),
    connectTimeout: c.connectTimeoutSeconds * 1000,
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    // Every value as the server's text: exact for BIGINT, DECIMAL and DATETIME(6).
    typeCast: (field, next) => (field.type === 'GEOMETRY' ? next() : field.string()),
  });
  conn.on('error', () => undefined);
  try {
    await new Promise<void>((res, rej) => conn.connect((err) => (err ? rej(err) : res())));
    await run(conn, "SET time_zone = '+00:00'");
  } catch (err) {
    conn.destroy();
    throw new Error(
      `cannot connect to ${c.user}@${c.host}:${c.port}/${c.database}: ${describeDriverError(err)}`,
      {
        cause: err,
      },
    );
  }
  return conn;
}

async function withConnection<T>(
  ctx: SourceContext<MysqlSourceConfig>,
  fn: (conn: Connection) => Promise<T>,
): Promise<T> {
  const conn = await connect(ctx);
  try {
    return await fn(conn);
  } catch (err) {
    throw new Error(`reading ${ctx.config.table ?? 'the query'}: ${describeDriverError(err)}`, {
      cause: err,
    });
  } finally {
    conn.destroy();
  }
}

async function run(
  conn: Connection,
  sql: string,
  params: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  const [rows] = await conn.promise().query(sql, params);
  return rows as Record<string, unknown>[];
}

function quoteId(name: string): string {
  if (name.length === 0 || name.includes('\u0000'))
    throw new Error(`not a usable identifier: ${JSON.stringify(name)}`);
  return `\`${name.replaceAll('`', '``')}\``;
}

const NOT_NULL_FLAG = 1;
const UNSIGNED_FLAG = 32;

/** mysql2 reports column flags as a bit set (or, in some modes, as names: then nothing is assumed). */
function numericFlags(flags: unknown): number {
  return typeof flags === 'number' ? flags : 0;
}

/** `schema.table` or `table` as [schema | null, table] (backquotes are not part of the name). */
function tableParts(table: string): [string | null, string] {
  const dot = table.indexOf('.');
  return dot < 0 ? [null, table] : [table.slice(0, dot), table.slice(dot + 1)];
}

/**
 * mysql2 column type code → destination type (text for anything Sluice does not type). A DECIMAL
 * keeps its precision and scale: the column length counts the sign (unless unsigned) and the point.
 */
function destinationType(
  code: number,
  field?: { columnLength?: number; decimals?: number; flags?: unknown },
): string {
  if ((code === 246 || code === 0) && field?.columnLength !== undefined && field.decimals !== undefined) {
    const unsigned = numericFlags(field.flags) & UNSIGNED_FLAG;
    const precision = field.columnLength - (field.decimals > 0 ? 1 : 0) - (unsigned ? 0 : 1);
    if (precision >= 1 && precision <= 65 && field.decimals <= precision) {
      return `numeric(${precision},${field.decimals})`;
    }
  }
  const map: Record<number, string> = {
    1: 'smallint',
    2: 'smallint',
    3: 'integer',
    8: 'bigint',
    9: 'integer',
    4: 'real',
    5: 'double precision',
    0: 'numeric',
    246: 'numeric',
    10: 'date',
    7: 'timestamptz',
    12: 'timestamp',
    245: 'jsonb',
  };
  return map[code] ?? 'text';
}
