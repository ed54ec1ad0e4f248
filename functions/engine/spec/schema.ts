import * as z from 'zod';
import { checkDeletes, checkHistory } from './load-modes.js';
import { scheduleExpressionProblem } from './schedule.js';

/**
 * The pipeline spec: the one contract between a user's YAML, the engine and the CDK stacks.
 * lib/ (CDK) imports only this module from functions/.
 */

/** SQL identifiers we create: lower snake case, so they never need quoting and never carry SQL. */
export const identifier = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_]{0,62}$/,
    'must be a lower-case SQL identifier: a-z, 0-9 and _, at most 63 characters, not starting with a digit',
  )
  .refine((name) => !['__proto__', 'constructor', 'prototype'].includes(name), 'is reserved');

/** Column types Sluice knows how to parse, validate and load. */
export const COLUMN_TYPE_PATTERN =
  /^(text|varchar\([1-9]\d{0,4}\)|smallint|integer|bigint|numeric(\([1-9]\d{0,2}(,\s*\d{1,3})?\))?|real|double precision|boolean|date|timestamp|timestamptz|uuid|jsonb)$/;

export const columnSchema = z.strictObject({
  type: z
    .string()
    .regex(
      COLUMN_TYPE_PATTERN,
      'must be one of text, varchar(n), smallint, integer, bigint, numeric, numeric(p,s), real, double precision, boolean, date, timestamp, timestamptz, uuid, jsonb',
    ),
  nullable: z.boolean().default(true),
  description: z.string().optional(),
});

/** A '..' path segment: meaningless in an S3 key prefix, and a way to climb out of one. */
const hasDotDotSegment = (path: string) => path.split('/').includes('..');

export const sourceSchema = z.strictObject({
  connector: z.string().min(1),
  /** Connector-specific; validated by the connector's own schema. */
  config: z.record(z.string(), z.unknown()).default({}),
  /** Names of secrets (never values): resolved through the secrets adapter at run time. */
  credentials: z.record(z.string(), z.string().min(1)).optional(),
});

const byteSize = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB)$/i, 'must be a size such as 64MiB or 500KB')
    .transform(parseByteSize),
]);

export const chunkingSchema = z.strictObject({
  /** Target size of one chunk of uncompressed input; a record is never split. */
  targetBytes: byteSize.default(32 * 1024 * 1024),
  /** How many chunks one Map iteration (one Lambda invocation) processes. */
  chunksPerBatch: z.number().int().min(1).max(100).default(1),
});

const expression = z.string().min(1);

export const transformSchema = z.union([
  z.strictObject({ select: z.array(z.string().min(1)).min(1) }),
  z.strictObject({ drop: z.array(z.string().min(1)).min(1) }),
  z.strictObject({ rename: z.record(z.string(), z.string().min(1)) }),
  z.strictObject({
    cast: z.strictObject({
      column: z.string().min(1),
      to: z.enum(['integer', 'number', 'boolean', 'date', 'timestamp', 'text']),
      /** date-fns format for dates, e.g. dd/MM/yyyy; decimal/thousands separators for numbers. */
      format: z.string().optional(),
      decimal: z.string().length(1).optional(),
      thousands: z.string().max(1).optional(),
      trueValues: z.array(z.string()).optional(),
      falseValues: z.array(z.string()).optional(),
    }),
  }),
  z.strictObject({ default: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])) }),
  z.strictObject({ derive: z.record(z.string(), expression) }),
  z.strictObject({ filter: expression }),
  z.strictObject({ trim: z.union([z.literal('all'), z.array(z.string().min(1)).min(1)]) }),
  z.strictObject({
    case: z.strictObject({ columns: z.array(z.string().min(1)).min(1), to: z.enum(['lower', 'upper']) }),
  }),
  z.strictObject({
    hash: z.strictObject({
      columns: z.array(z.string().min(1)).min(1),
      /** Name of the secret holding the HMAC key. */
      keySecret: z.string().min(1),
    }),
  }),
  z.strictObject({
    dedupe: z.strictObject({
      /** Defaults to destination.key. */
      key: z.array(z.string().min(1)).optional(),
      keep: z.enum(['first', 'last']).default('last'),
    }),
  }),
]);
export type TransformSpec = z.infer<typeof transformSchema>;

export const partitioningSchema = z.strictObject({
  column: identifier,
  by: z.enum(['day', 'week', 'month', 'year']).default('month'),
});

/** Default `destination.partitionSwap.minRows`: below it a swap's DDL costs more than the insert it saves. */
export const PARTITION_SWAP_MIN_ROWS = 10_000;

/** A destination column: `{ type, nullable, description }`, or the shorthand `type` (nullable). */
const columnEntry = z.preprocess((v) => (typeof v === 'string' ? { type: v } : v), columnSchema);

export const destinationSchema = z.strictObject({
  schema: identifier.default('public'),
  table: identifier,
  mode: z.enum(['append', 'upsert', 'replace-partitions', 'history']).default('append'),
  /** `name: { type, nullable }`, or the shorthand `name: type` (nullable). */
  columns: z
    .record(identifier, columnEntry)
    .refine((c) => Object.keys(c).length > 0, 'needs at least one column'),
  key: z.array(identifier).optional(),
  /**
   * Range partitioning on a date/timestamp column. Leave it out for a lookup table (zip codes,
   * products): the table is a plain table, and `replace-partitions` replaces the whole table.
   * @default - none: an unpartitioned table
   */
  partitioning: partitioningSchema.optional(),
  /** Partitions older than this many partition units (e.g. 24 with `by: month`) are detached and dropped. */
  retention: z.strictObject({ keep: z.number().int().positive() }).optional(),
  /**
   * What a run does with source columns the destination does not have (sources that can discover
   * their columns): `evolve` adds them as nullable columns through a recorded migration, `freeze`
   * fails the run naming them, `discard` drops them and counts them in the summary.
   * @default discard
   */
  schemaEvolution: z.enum(['evolve', 'freeze', 'discard']).optional(),
  /**
   * A partition that is empty when a run commits (a first load, a new day) and gets at least `minRows`
   * of the run's rows is filled by writing a new table and swapping it in (DETACH/ATTACH in the commit's
   * transaction) instead of inserting through the parent. Taken only where the outcome is the same
   * (see functions/engine/load/partition-swap.ts); `enabled: false` always inserts.
   */
  partitionSwap: z
    .strictObject({
      enabled: z.boolean().default(true),
      minRows: z.number().int().positive().default(PARTITION_SWAP_MIN_ROWS),
    })
    .optional(),
  /**
   * `upsert` from a database source: what happens to target rows whose key is no longer in the source
   * (each run compares the source's key set, read by key range in the run's chunks, with the target):
   * `hard` deletes them, `soft` sets `softDeleteColumn` (and clears it when the key comes back),
   * `ignore` keeps them. With `hard` or `soft` a row whose partition column changed is moved: its old
   * version is deleted in the same commit. See functions/engine/load/deletes.ts.
   * @default ignore
   */
  deletes: z.enum(['hard', 'soft', 'ignore']).optional(),
  /** The timestamptz column `deletes: soft` sets; Sluice adds it to the table. @default deleted_at */
  softDeleteColumn: identifier.optional(),
  /**
   * `mode: history` (SCD type 2): one row per version of a key. Sluice adds the three columns (not
   * listed in `columns`); `partitioning.column` must be `validFrom`. A change in a `tracked` column
   * closes the current version and opens one; other columns are updated in the current version.
   * See functions/engine/load/scd2.ts.
   */
  history: z
    .strictObject({
      validFrom: identifier.default('valid_from'),
      validTo: identifier.default('valid_to'),
      isCurrent: identifier.default('is_current'),
      /** @default every column that is not in the key */
      tracked: z.array(identifier).min(1).optional(),
    })
    .optional(),
});

export const qualitySchema = z.strictObject({
  /** Fraction of read rows that may be rejected before the run fails (0 = none, 1 = all). */
  maxRejectRatio: z.number().min(0).max(1).default(0.05),
  minRows: z.number().int().min(0).optional(),
  maxRows: z.number().int().positive().optional(),
});

export const triggersSchema = z.strictObject({
  /** EventBridge Scheduler expression: cron(...), rate(...) or at(...), checked as AWS reads it. */
  schedule: z
    .string()
    .superRefine((expression, ctx) => {
      const problem = scheduleExpressionProblem(expression);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .meta({ pattern: '^(cron|rate|at)\\(.+\\)$' })
    .optional(),
  s3: z
    .strictObject({
      prefix: z
        .string()
        .min(1)
        .refine((p) => !hasDotDotSegment(p) && !p.startsWith('/'), {
          message: "must be an S3 key prefix: no leading '/' and no '..' segments",
        }),
      suffix: z.string().optional(),
    })
    .optional(),
});

export const runtimeSchema = z.strictObject({
  compute: z.enum(['lambda', 'fargate', 'auto']).default('auto'),
  /** With `auto`, chunks larger than this (uncompressed estimate) go to Fargate. */
  lambdaMaxBytes: byteSize.default(256 * 1024 * 1024),
  memoryMb: z.number().int().min(128).max(10240).default(1024),
  timeoutSeconds: z.number().int().min(10).max(900).default(900),
  concurrency: z.number().int().min(1).max(1000).default(8),
  toleratedFailurePercentage: z.number().min(0).max(100).default(0),
});

export const pipelineSpecSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,47}$/, 'must be kebab-case: a-z, 0-9 and -, at most 48 characters'),
    version: z.number().int().positive().default(1),
    description: z.string().optional(),
    source: sourceSchema,
    chunking: chunkingSchema.default({ targetBytes: 32 * 1024 * 1024, chunksPerBatch: 1 }),
    transforms: z.array(transformSchema).default([]),
    destination: destinationSchema,
    quality: qualitySchema.default({ maxRejectRatio: 0.05 }),
    triggers: triggersSchema.default({}),
    runtime: runtimeSchema.default({
      compute: 'auto',
      lambdaMaxBytes: 256 * 1024 * 1024,
      memoryMb: 1024,
      timeoutSeconds: 900,
      concurrency: 8,
      toleratedFailurePercentage: 0,
    }),
  })
  .superRefine((spec, ctx) => {
    const columns = spec.destination.columns;
    const part = spec.destination.partitioning?.column;
    const partColumn = part === undefined ? undefined : columns[part];
    const isHistory = spec.destination.mode === 'history';
    if (isHistory) {
      checkHistory(spec.destination, ctx);
    } else if (spec.destination.history) {
      ctx.addIssue({
        code: 'custom',
        path: ['destination', 'history'],
        message: 'is used only with mode: history',
      });
    }
    if (part === undefined) {
      if (spec.destination.retention) {
        ctx.addIssue({
          code: 'custom',
          path: ['destination', 'retention'],
          message:
            'needs destination.partitioning: retention drops whole partitions, and an unpartitioned table has none (add partitioning, or remove retention)',
        });
      }
    } else if (isHistory) {
      // The partition column is the history's validFrom, which Sluice adds: checked by checkHistory.
    } else if (!partColumn) {
      ctx.addIssue({
        code: 'custom',
        path: ['destination', 'partitioning', 'column'],
        message: `"${part}" is not a destination column`,
      });
    } else {
      if (!/^(date|timestamp|timestamptz)$/.test(partColumn.type)) {
        ctx.addIssue({
          code: 'custom',
          path: ['destination', 'columns', part, 'type'],
          message: `partition column "${part}" must be date, timestamp or timestamptz, not ${partColumn.type}`,
        });
      }
      if (partColumn.nullable) {
        ctx.addIssue({
          code: 'custom',
          path: ['destination', 'columns', part, 'nullable'],
          message: `partition column "${part}" must be nullable: false (a row without it has no partition)`,
        });
      }
    }
    const key = spec.destination.key;
    if (key) {
      key.forEach((k, i) => {
        if (!columns[k])
          ctx.addIssue({
            code: 'custom',
            path: ['destination', 'key', i],
            message: `"${k}" is not a destination column`,
          });
        else if (columns[k].nullable)
          ctx.addIssue({
            code: 'custom',
            path: ['destination', 'columns', k, 'nullable'],
            message: `key column "${k}" must be nullable: false`,
          });
      });
      if (part !== undefined && !key.includes(part) && !isHistory) {
        ctx.addIssue({
          code: 'custom',
          path: ['destination', 'key'],
          message: `must include the partition column "${part}": PostgreSQL requires unique keys of a partitioned table to contain it`,
        });
      }
    }
    if ((spec.destination.mode === 'upsert' || isHistory) && !key) {
      ctx.addIssue({
        code: 'custom',
        path: ['destination', 'key'],
        message: `is required when mode is ${spec.destination.mode}`,
      });
    }
    checkDeletes(spec.destination, ctx);
    spec.transforms.forEach((t, i) => {
      if ('dedupe' in t && !t.dedupe.key && !key) {
        ctx.addIssue({
          code: 'custom',
          path: ['transforms', i, 'dedupe', 'key'],
          message: 'is required when destination.key is not set',
        });
      }
    });
    if (
      spec.quality.minRows !== undefined &&
      spec.quality.maxRows !== undefined &&
      spec.quality.minRows > spec.quality.maxRows
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['quality', 'minRows'],
        message: 'must not exceed quality.maxRows',
      });
    }
  });

export type PipelineSpec = z.infer<typeof pipelineSpecSchema>;
export type ColumnSpec = z.infer<typeof columnSchema>;
export type DestinationSpec = PipelineSpec['destination'];

export function parseByteSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: ${text}`);
  const units: Record<string, number> = {
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: 1024 ** 2,
    gb: 1e9,
    gib: 1024 ** 3,
  };
  return Math.round(Number(m[1]) * (units[m[2]!.toLowerCase()] ?? 1));
}

/** JSON Schema of the spec, for editors (`sluice schema`). */
/**
 * The spec as JSON Schema (draft 2020-12) for editors and other tools: every form the spec accepts,
 * shorthands included, and it compiles under Ajv's strict mode (test/unit/spec/json-schema.test.ts
 * validates every spec of pipelines/ and the docs with it).
 */
export function pipelineJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(pipelineSpecSchema, {
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema !== columnEntry) return;
      const node = jsonSchema as Record<string, unknown>;
      const longForm = { ...node };
      for (const key of Object.keys(node)) delete node[key];
      node.anyOf = [
        {
          type: 'string',
          pattern: COLUMN_TYPE_PATTERN.source,
          description: 'shorthand for { type, nullable: true }',
        },
        longForm,
      ];
    },
  });
  return typeListsAsAnyOf(schema) as Record<string, unknown>;
}

/** Ajv's strict mode refuses a list of types (`type: [string, number]`, which zod writes): anyOf says the same. */
function typeListsAsAnyOf(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(typeListsAsAnyOf);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'type' && Array.isArray(value)) out.anyOf = value.map((type) => ({ type }));
    else out[key] = typeListsAsAnyOf(value);
  }
  return out;
}
