import * as z from 'zod';

/** The fields shared by the database sources (PostgreSQL, MySQL/MariaDB), before the cross-field rules. */
export function sqlSourceFields(defaultPort: number) {
  return z.strictObject({
    /** Where to connect; the password comes from `source.credentials.password` (a secret name). */
    connection: z.strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(defaultPort),
      database: z.string().min(1),
      user: z.string().min(1),
      /** Connect with TLS (verifying the server certificate). */
      ssl: z.boolean().default(false),
      connectTimeoutSeconds: z.number().int().min(1).max(300).default(10),
    }),
    /** `table` or `schema.table`; or give `query`. */
    table: z.string().min(1).optional(),
    /** A SELECT whose result is the source (wrapped as a subquery; no trailing semicolon). */
    query: z.string().min(1).optional(),
    /** Columns to read. @default all */
    columns: z.array(z.string().min(1)).min(1).optional(),
    /**
     * The column chunks split on (unique or not; an integer for `split: minmax`, any orderable type
     * for `quantiles`). Without it the source is read as one chunk.
     */
    key: z.string().min(1).optional(),
    /** How many key ranges to plan. @default the run's concurrency */
    chunks: z.number().int().min(1).max(10_000).optional(),
    /** `minmax`: equal ranges between min and max (integers). `quantiles`: equal row counts (PostgreSQL). */
    split: z.enum(['minmax', 'quantiles']).default('minmax'),
    /** Incremental loads: each run reads rows whose cursor column passed the last run's maximum. */
    cursor: z
      .strictObject({
        column: z.string().min(1),
        /** Re-read this much before the stored cursor (seconds for time columns, units for numbers). */
        lookback: z.number().min(0).default(0),
      })
      .optional(),
    /** Rows fetched per round trip. */
    fetchSize: z.number().int().min(100).max(100_000).default(10_000),
  });
}

/** Exactly one of `table` and `query`: the rule every database source's config adds to its fields. */
export const oneOfTableAndQuery = {
  check: (c: { table?: string | undefined; query?: string | undefined }) =>
    (c.table === undefined) !== (c.query === undefined),
  message: 'give exactly one of table and query',
  path: ['table'],
};

/** Config shared by the database sources (PostgreSQL, MySQL/MariaDB). */
export function sqlSourceConfig(defaultPort: number) {
  return sqlSourceFields(defaultPort).refine(oneOfTableAndQuery.check, {
    message: oneOfTableAndQuery.message,
    path: oneOfTableAndQuery.path,
  });
}

export type SqlSourceConfig = z.infer<ReturnType<typeof sqlSourceConfig>>;

/**
 * A database chunk: a half-open key range `[lo, hi)` (absent = unbounded; the first chunk also takes
 * rows whose key is null) and the cursor window. Values are text: exact for bigint and timestamps.
 */
export interface SqlChunk {
  lo?: string;
  hi?: string;
  nulls?: boolean;
  /** Only the key snapshot (deletes): no row changed since the cursor, so the chunk reads no rows. */
  keysOnly?: boolean;
  cursor?: { gt?: string; gte?: string; lt?: string; lte?: string };
}
