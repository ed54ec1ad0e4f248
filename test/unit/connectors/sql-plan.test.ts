import { describe, expect, it } from 'vitest';
import { mysqlSourceConfig } from '../../../functions/connectors/mysql/connector.js';
import {
  integerBoundaries,
  planSqlChunks,
  type SqlPlanner,
} from '../../../functions/connectors/sql-common/plan.js';
import { chunkPredicate } from '../../../functions/connectors/sql-common/where.js';

const config = (extra: Record<string, unknown> = {}) =>
  mysqlSourceConfig.parse({
    connection: { host: 'db', database: 'shop', user: 'etl' },
    table: 'orders',
    key: 'id',
    ...extra,
  });

/** A source whose ids are 1..1000 and whose updated_at goes up to `max`. */
function planner(max: string | undefined): SqlPlanner & { asked: unknown[] } {
  const asked: unknown[] = [];
  return {
    asked,
    async maxCursor(column, gt) {
      asked.push({ maxCursor: column, gt });
      return max;
    },
    async lowerBound(_column, stored, lookback) {
      return `${stored} - ${lookback}s`;
    },
    async keyStats(_key, window) {
      asked.push({ keyStats: window });
      return { min: '1', max: '1000', rows: 1000 };
    },
  };
}

describe('integerBoundaries', () => {
  it('splits [min, max] into n equal ranges', () => {
    expect(integerBoundaries('1', '1000', 4, 'id')).toEqual(['251', '501', '751']);
  });

  it('never plans more ranges than there are keys', () => {
    expect(integerBoundaries('5', '7', 8, 'id')).toEqual(['6', '7']);
  });

  it('keeps bigint precision', () => {
    expect(integerBoundaries('9007199254740993', '9007199254740996', 2, 'id')).toEqual(['9007199254740995']);
  });

  it('fails naming the key when it is not an integer', () => {
    expect(() => integerBoundaries('a', 'z', 2, 'code')).toThrow(
      'key "code" is not an integer (min "a"): use split: quantiles or an integer key',
    );
  });
});

describe('planSqlChunks', () => {
  it('covers every key exactly once: unbounded first and last ranges, nulls in the first', async () => {
    const plan = await planSqlChunks(config({ chunks: 4 }), planner(undefined), { parallelism: 8 });

    expect(plan.chunks.map((c) => c.source)).toEqual([
      { nulls: true, hi: '251' },
      { lo: '251', hi: '501' },
      { lo: '501', hi: '751' },
      { lo: '751' },
    ]);
    expect(plan.cursor).toBeUndefined();
  });

  it('reads up to the max cursor on the first run and stores it as the next cursor', async () => {
    const plan = await planSqlChunks(
      config({ chunks: 2, cursor: { column: 'updated_at' } }),
      planner('2026-01-31 10:00:00'),
      {
        parallelism: 8,
      },
    );

    expect(plan.chunks.map((c) => c.source)).toEqual([
      { nulls: true, hi: '501', cursor: { lte: '2026-01-31 10:00:00' } },
      { lo: '501', cursor: { lte: '2026-01-31 10:00:00' } },
    ]);
    expect(plan.cursor).toEqual({ column: 'updated_at', value: '2026-01-31 10:00:00' });
  });

  it('reads after the stored cursor, minus the lookback', async () => {
    const plan = await planSqlChunks(
      config({ chunks: 1, cursor: { column: 'updated_at', lookback: 300 } }),
      planner('2026-02-01 00:00:00'),
      { parallelism: 8, cursor: { column: 'updated_at', value: '2026-01-31 10:00:00' } },
    );

    expect(plan.chunks.map((c) => c.source)).toEqual([
      { nulls: true, cursor: { gt: '2026-01-31 10:00:00 - 300s', lte: '2026-02-01 00:00:00' } },
    ]);
  });

  it('plans nothing and keeps the cursor when no row passed it', async () => {
    const stored = { column: 'updated_at', value: '2026-01-31 10:00:00' };
    const plan = await planSqlChunks(config({ cursor: { column: 'updated_at' } }), planner(undefined), {
      parallelism: 8,
      cursor: stored,
    });

    expect(plan).toEqual({ chunks: [], units: [], skipped: 0, cursor: stored });
  });

  it('plans keys-only ranges over the whole table when no row passed the cursor but deletes need the keys', async () => {
    const stored = { column: 'updated_at', value: '2026-01-31 10:00:00' };
    const p = planner(undefined);
    const plan = await planSqlChunks(config({ chunks: 2, cursor: { column: 'updated_at' } }), p, {
      parallelism: 8,
      cursor: stored,
      keySnapshot: true,
    });

    expect(plan.chunks.map((c) => c.source)).toEqual([
      { nulls: true, hi: '501', keysOnly: true },
      { lo: '501', keysOnly: true },
    ]);
    expect(plan.cursor).toEqual(stored);
    expect(p.asked).toContainEqual({ keyStats: undefined });
  });

  it('fails when deletes need a key snapshot of a source without a key', async () => {
    await expect(
      planSqlChunks(config({ key: undefined }), planner(undefined), { parallelism: 8, keySnapshot: true }),
    ).rejects.toThrow('deletes need source.config.key');
  });

  it('plans a backfill window from the flag and returns no cursor', async () => {
    const p = planner('2026-12-31 00:00:00');
    const plan = await planSqlChunks(config({ chunks: 1, cursor: { column: 'updated_at' } }), p, {
      parallelism: 8,
      cursor: { column: 'updated_at', value: '2026-06-01' },
      backfill: { from: '2026-01-01', to: '2026-02-01' },
    });

    expect(plan.chunks.map((c) => c.source)).toEqual([
      { nulls: true, cursor: { gte: '2026-01-01', lt: '2026-02-01' } },
    ]);
    expect(plan.cursor).toBeUndefined();
    expect(p.asked).not.toContainEqual(expect.objectContaining({ maxCursor: 'updated_at' }));
  });

  it('fails when a backfill is asked of a source without a cursor', async () => {
    await expect(
      planSqlChunks(config(), planner(undefined), { parallelism: 8, backfill: { from: '1', to: '2' } }),
    ).rejects.toThrow('--backfill needs an incremental source: set source.config.cursor.column');
  });
});

describe('chunkPredicate', () => {
  it('is a bounded range query with every value a parameter', () => {
    const where = chunkPredicate(
      { lo: '10', hi: '20', cursor: { gt: '2026-01-01', lte: '2026-02-01' } },
      'id',
      'updated_at',
      (n) => `"${n}"`,
      (i) => `$${i}`,
    );

    expect(where).toEqual({
      sql: '("id" >= $1 AND "id" < $2) AND "updated_at" > $3 AND "updated_at" <= $4',
      params: ['10', '20', '2026-01-01', '2026-02-01'],
    });
  });
});

describe('sql source config', () => {
  it('fails when both table and query are given', () => {
    expect(() => config({ query: 'SELECT 1' })).toThrow('give exactly one of table and query');
  });
});
