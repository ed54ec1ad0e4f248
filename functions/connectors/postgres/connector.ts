import pg from 'pg';
import type { ChunkDescriptor, SourceRecord } from '../../sdk/index.js';
import {
  type DiscoveredColumn,
  defineSource,
  flattenBatches,
  type PlanContext,
  type ReadContext,
  type SourceContext,
  type SourcePlan,
} from '../../sdk/source.js';
import type { SqlChunk } from '../sql-common/config.js';
import { chunkQuery, describeDriverError, keysQuery, relation, selectList } from '../sql-common/query.js';
import { cdcNames } from './cdc/config.js';
import { compareLsn } from './cdc/pgoutput.js';
import { type CdcChunkSource, planChanges, planFirstLoad, storedCdcCursor } from './cdc/plan.js';
import { readChangeBatches } from './cdc/read.js';
import { advanceSlot, slotPosition } from './cdc/slot.js';
import { type PostgresSourceConfig, postgresSourceConfig } from './config.js';
import { planKeyRanges, quoteIdent } from './plan.js';

export { type PostgresSourceConfig, postgresSourceConfig } from './config.js';

/** Every value as PostgreSQL's text: exact for bigint, numeric and timestamps (the session is UTC). */
const TEXT_TYPES = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/**
 * PostgreSQL source: a table or a query, split into key ranges read in parallel, incremental by a
 * cursor column. Each chunk is one bounded range query in a read-only REPEATABLE READ transaction,
 * streamed through a server-side cursor.
 */
export default defineSource<PostgresSourceConfig>({
  name: 'postgres',
  description: 'PostgreSQL table or query: key-range chunks, incremental by a cursor column',
  configSchema: postgresSourceConfig,
  cannotBackfill: (config) =>
    config.cursor
      ? undefined
      : 'a backfill window is a range of the cursor column: set source.config.cursor.column',
  network: (config) => ({ access: 'database-port', ports: [config.connection.port] }),

  async check(ctx) {
    await withClient(ctx, async (client) => {
      await client.query(`SELECT 1 FROM ${relation(ctx.config, quoteIdent)} LIMIT 0`);
    });
  },

  async discover(ctx) {
    return withClient(ctx, async (client) => {
      const res = await client.query(
        `SELECT ${selectList(ctx.config, quoteIdent)} FROM ${relation(ctx.config, quoteIdent)} LIMIT 0`,
      );
      const catalog = await catalogFacts(client, res.fields);
      const columns: DiscoveredColumn[] = res.fields.map((f) => ({
        name: f.name,
        type: destinationType(f.dataTypeID, f.dataTypeModifier),
        nullable: !catalog.notNull.has(`${f.tableID}.${f.columnID}`),
      }));
      const primaryKey = ctx.config.table ? catalog.primaryKey : undefined;
      return [
        {
          name: ctx.config.table ?? 'query',
          columns,
          // A key is a key of the source only when every one of its columns is read.
          ...(primaryKey?.length && primaryKey.every((k) => columns.some((c) => c.name === k))
            ? { primaryKey }
            : {}),
        },
      ];
    });
  },

  capturesChanges: (config) => config.cdc !== undefined,

  async plan(ctx) {
    return withClient(ctx, async (client) => {
      const cdc = ctx.config.cdc;
      const planRows = () => planKeyRanges(client, ctx);
      if (!cdc) return planRows();
      const names = cdcNames(cdc, ctx.pipeline);
      const stored = storedCdcCursor(ctx.cursor);
      if (stored) return planChanges(client, stored, names, cdc, { dryRun: ctx.dryRun ?? false });
      const c = ctx.config.connection;
      return planFirstLoad(
        client,
        {
          table: ctx.config.table!,
          target: `${c.user}@${c.host}:${c.port}/${c.database}`,
          ...names,
          dryRun: ctx.dryRun ?? false,
        },
        planRows,
      );
    });
  },

  /** After the commit stored the LSN: the slot lets go of what the run applied. */
  async acknowledge(ctx, cursor) {
    const stored = storedCdcCursor(cursor);
    if (!ctx.config.cdc || !stored) return;
    await withClient(ctx, async (client) => {
      const at = await slotPosition(client, stored.slot);
      if (at !== undefined && compareLsn(at, stored.lsn) < 0)
        await advanceSlot(client, stored.slot, stored.lsn);
    });
  },

  read(chunk, ctx) {
    return flattenBatches(this.readBatches!(chunk, ctx));
  },

  /** One FETCH of the chunk's cursor per batch (CDC: one transaction's changes per batch). */
  async *readBatches(chunk, ctx): AsyncGenerator<SourceRecord[]> {
    const cdc = chunk.source.cdc as CdcChunkSource | undefined;
    if (cdc) {
      const client = await connect(ctx);
      try {
        yield* readChangeBatches(client, cdc, {
          table: ctx.config.table!,
          key: ctx.config.key,
          columns: ctx.config.columns,
        });
      } finally {
        await client.end().catch(() => undefined);
      }
      return;
    }
    yield* readRowBatches(chunk, ctx);
  },

  keyColumn: (config) => config.key,

  /** The chunk's key range, without its cursor window: one FETCH of keys per batch, in one snapshot. */
  async *readKeys(chunk, ctx): AsyncGenerator<string[]> {
    const config = ctx.config;
    const { sql, params } = keysQuery(config, chunk.source as SqlChunk, quoteIdent, (i) => `$${i}`);
    const client = await connect(ctx);
    let open = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      open = true;
      await client.query(`DECLARE sluice_keys NO SCROLL CURSOR FOR ${sql}`, params);
      for (;;) {
        const res = await client.query<{ k: string }>(`FETCH ${config.fetchSize * 5} FROM sluice_keys`);
        if (res.rows.length > 0) yield res.rows.map((r) => r.k);
        if (res.rows.length < config.fetchSize * 5) break;
      }
      await client.query('COMMIT');
      open = false;
    } finally {
      if (open) await client.query('ROLLBACK').catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  },
});

/** A first load's chunk records the snapshot it reads in: the next run skips the changes it already saw. */
async function* readRowBatches(
  chunk: ChunkDescriptor,
  ctx: ReadContext<PostgresSourceConfig>,
): AsyncGenerator<SourceRecord[]> {
  const source = chunk.source as SqlChunk & { snapshot?: boolean };
  if (source.keysOnly) return;
  const config = ctx.config;
  const { sql, params } = chunkQuery(config, source, quoteIdent, (i) => `$${i}`);
  const client = await connect(ctx);
  let open = false;
  try {
    // One snapshot for the whole chunk, and no writes whatever the query says.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    open = true;
    if (source.snapshot) {
      // The first statement takes the transaction's snapshot: this is the one the rows are read in.
      const taken = await client.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s');
      if (!ctx.reportChunkState)
        throw new Error('a CDC first load chunk must store its snapshot: this engine cannot');
      ctx.reportChunkState({ snapshot: taken.rows[0]!.s });
    }
    await client.query(`DECLARE sluice_chunk NO SCROLL CURSOR FOR ${sql}`, params);
    const label = config.table ?? 'query';
    let n = 0;
    for (;;) {
      const res = await client.query<Record<string, string | null>>(
        `FETCH ${config.fetchSize} FROM sluice_chunk`,
      );
      if (res.rows.length > 0)
        yield res.rows.map((row) => {
          n++;
          const at = config.key ? `${config.key}=${row[config.key]}` : `row ${n}`;
          return { kind: 'row' as const, row, location: `${label} ${at}` };
        });
      if (res.rows.length < config.fetchSize) break;
    }
    await client.query('COMMIT');
    open = false;
  } finally {
    if (open) await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

async function connect(ctx: SourceContext<PostgresSourceConfig>): Promise<pg.Client> {
  const c = ctx.config.connection;
  const password = await ctx.credential('password', { optional: true });
  const client = new pg.Client({
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    ...(password === undefined ? {} : { password }),
    ssl: c.ssl ? { rejectUnauthorized: true } : false,
    connectionTimeoutMillis: c.connectTimeoutSeconds * 1000,
    types: TEXT_TYPES,
    options: '-c TimeZone=UTC -c DateStyle=ISO',
    application_name: 'sluice',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new Error(
      `cannot connect to ${c.user}@${c.host}:${c.port}/${c.database}: ${describeDriverError(err)}`,
      {
        cause: err,
      },
    );
  }
  return client;
}

async function withClient<T>(
  ctx: SourceContext<PostgresSourceConfig>,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = await connect(ctx);
  try {
    return await fn(client);
  } catch (err) {
    throw new Error(`reading ${ctx.config.table ?? 'the query'}: ${describeDriverError(err)}`, {
      cause: err,
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * What the catalog says of the result's columns: NOT NULL ones (as `tableID.columnID`; a computed
 * column of a query has no table and stays nullable), and the primary key of the one table read.
 */
async function catalogFacts(
  client: pg.Client,
  fields: readonly pg.FieldDef[],
): Promise<{ notNull: Set<string>; primaryKey: string[] }> {
  const tables = [...new Set(fields.map((f) => f.tableID).filter((t) => t !== 0))];
  if (tables.length === 0) return { notNull: new Set(), primaryKey: [] };
  const notNull = await client.query<{ rel: string; num: string }>(
    `SELECT attrelid::text AS rel, attnum::text AS num FROM pg_attribute
      WHERE attrelid = ANY($1::oid[]) AND attnum > 0 AND attnotnull AND NOT attisdropped`,
    [tables],
  );
  const key =
    tables.length === 1
      ? await client.query<{ name: string }>(
          `SELECT a.attname AS name FROM pg_index i
             CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(num, pos)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
            WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY k.pos`,
          [tables[0]],
        )
      : { rows: [] };
  return {
    notNull: new Set(notNull.rows.map((r) => `${r.rel}.${r.num}`)),
    primaryKey: key.rows.map((r) => r.name),
  };
}

/**
 * PostgreSQL type OID (and type modifier) → destination type (text for anything Sluice does not
 * type): `numeric(12,2)` and `varchar(20)` keep their declared precision and length.
 */
function destinationType(oid: number, typmod = -1): string {
  if (oid === 1700 && typmod >= 4) {
    const precision = ((typmod - 4) >> 16) & 0xffff;
    const scale = (typmod - 4) & 0xffff;
    if (precision >= 1 && scale <= precision) return `numeric(${precision},${scale})`;
  }
  if (oid === 1043 && typmod >= 5) return `varchar(${typmod - 4})`;
  const map: Record<number, string> = {
    16: 'boolean',
    20: 'bigint',
    21: 'smallint',
    23: 'integer',
    700: 'real',
    701: 'double precision',
    1700: 'numeric',
    1082: 'date',
    1114: 'timestamp',
    1184: 'timestamptz',
    2950: 'uuid',
    3802: 'jsonb',
    114: 'jsonb',
  };
  return map[oid] ?? 'text';
}
