// Planning a PostgreSQL source's key-range chunks: the aggregate queries planSqlChunks asks, in PostgreSQL's dialect.
import type pg from 'pg';
import type { PlanContext, SourcePlan } from '../../sdk/source.js';
import { planSqlChunks, type SqlPlanner } from '../sql-common/plan.js';
import { relation } from '../sql-common/query.js';
import { windowPredicate } from '../sql-common/where.js';
import type { PostgresSourceConfig } from './config.js';

/** Key-range chunks over the cursor window (or the whole table): the plan of every run but CDC's change runs. */
export async function planKeyRanges(
  client: pg.Client,
  ctx: PlanContext<PostgresSourceConfig>,
): Promise<SourcePlan> {
  const rel = relation(ctx.config, quoteIdent);
  // Fails early, naming the column, when the key or the cursor column does not exist.
  await client.query(
    `SELECT ${
      [ctx.config.key, ctx.config.cursor?.column]
        .filter((c) => c !== undefined)
        .map((c) => quoteIdent(c!))
        .join(', ') || '1'
    } FROM ${rel} LIMIT 0`,
  );
  const planner: SqlPlanner = {
    async maxCursor(column, gt) {
      const c = quoteIdent(column);
      const res = await client.query<{ v: string | null }>(
        `SELECT max(${c})::text AS v FROM ${rel}${gt === undefined ? '' : ` WHERE ${c} > $1`}`,
        gt === undefined ? [] : [gt],
      );
      return res.rows[0]?.v ?? undefined;
    },
    async lowerBound(column, stored, lookback) {
      const c = quoteIdent(column);
      const type = await client.query<{ t: string }>(`SELECT pg_typeof(${c})::text AS t FROM ${rel} LIMIT 1`);
      const t = type.rows[0]?.t ?? 'text';
      const isTime = /^(timestamp|date)/.test(t);
      const res = await client.query<{ v: string }>(
        isTime
          ? `SELECT ($1::${t} - make_interval(secs => $2))::${t}::text AS v`
          : `SELECT ($1::${t} - $2)::text AS v`,
        [stored, lookback],
      );
      return res.rows[0]!.v;
    },
    async keyStats(key, window) {
      const k = quoteIdent(key);
      const params: string[] = [];
      const where = windowPredicate(window, ctx.config.cursor?.column, quoteIdent, (v) => {
        params.push(v);
        return `$${params.length}`;
      });
      const res = await client.query<{ min: string | null; max: string | null; rows: string }>(
        `SELECT min(${k})::text AS min, max(${k})::text AS max, count(*) AS rows FROM ${rel}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
        params,
      );
      const row = res.rows[0]!;
      return {
        ...(row.min === null ? {} : { min: row.min }),
        ...(row.max === null ? {} : { max: row.max }),
        rows: Number(row.rows),
      };
    },
    async quantiles(key, window, n) {
      const k = quoteIdent(key);
      const params: string[] = [];
      const where = windowPredicate(window, ctx.config.cursor?.column, quoteIdent, (v) => {
        params.push(v);
        return `$${params.length}`;
      });
      const fractions = Array.from({ length: n - 1 }, (_, i) => (i + 1) / n);
      const res = await client.query<{ b: string[] | string | null }>(
        `SELECT percentile_disc(ARRAY[${fractions.join(',')}]::float8[]) WITHIN GROUP (ORDER BY ${k})::text[] AS b FROM ${rel}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
        params,
      );
      return parseTextArray(res.rows[0]?.b ?? null);
    },
  };
  return planSqlChunks(ctx.config, planner, {
    ...(ctx.cursor ? { cursor: ctx.cursor } : {}),
    ...(ctx.backfill ? { backfill: ctx.backfill } : {}),
    parallelism: ctx.parallelism,
    ...(ctx.keySnapshot ? { keySnapshot: true } : {}),
  });
}

/** `{a,"b c"}` → ['a', 'b c'] (pg returns arrays as text with our text-only type parsers). */
function parseTextArray(value: string[] | string | null): string[] {
  if (value === null) return [];
  if (Array.isArray(value)) return value;
  const inner = value.slice(1, -1);
  if (inner === '') return [];
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|([^,]+)/g;
  for (const m of inner.matchAll(re)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

/** Quotes one PostgreSQL identifier: `orders` → `"orders"`, `a"b` → `"a""b"`. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\u0000'))
    throw new Error(`not a usable SQL identifier: ${JSON.stringify(name)}`);
  return `"${name.replaceAll('"', '""')}"`;
}
