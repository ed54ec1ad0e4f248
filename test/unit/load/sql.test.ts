import { describe, expect, it } from 'vitest';
import { catalogType, specTypeName } from '../../../functions/engine/load/column-types.js';
import { stagingTableName } from '../../../functions/engine/load/index.js';
import {
  dedupedRowsSql,
  deleteUnitsSql,
  mergeSql,
  mergeWithoutDedupeSql,
} from '../../../functions/engine/load/merge-sql.js';
import { indexOn } from '../../../functions/engine/load/partition-swap.js';
import { copyCsvStatement, quoteIdent, quoteQualified } from '../../../functions/engine/ports/sql.js';
import type { DestinationSpec } from '../../../functions/engine/spec/schema.js';

const dest: DestinationSpec = {
  schema: 'analytics',
  table: 'orders',
  mode: 'upsert',
  columns: {
    id: { type: 'bigint', nullable: false },
    day: { type: 'date', nullable: false },
    amount: { type: 'numeric(12,2)', nullable: true },
  },
  key: ['id', 'day'],
  partitioning: { column: 'day', by: 'month' },
};

const squash = (sql: string) => sql.replace(/\s+/g, ' ').trim();

describe('identifier quoting', () => {
  it('quotes identifiers and doubles embedded quotes', () => {
    expect(quoteIdent('orders')).toBe('"orders"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(quoteQualified('analytics.orders')).toBe('"analytics"."orders"');
  });

  it('fails on an empty name or a three-part name', () => {
    expect(() => quoteIdent('')).toThrow(/not a usable SQL identifier/);
    expect(() => quoteQualified('a.b.c')).toThrow(/expected table or schema.table/);
  });

  it('builds the COPY both twins run', () => {
    expect(copyCsvStatement('s.t', ['a', 'b'], 'STDIN')).toBe(
      'COPY "s"."t" ("a", "b") FROM STDIN WITH (FORMAT csv)',
    );
  });
});

describe('staging table name', () => {
  it('is sluice_staging.run_<run id without dashes>', () => {
    expect(stagingTableName('0F8FAD5B-D9CB-469F-A165-70867728950E')).toBe(
      'sluice_staging.run_0f8fad5bd9cb469fa16570867728950e',
    );
  });

  it('fails on a run id that is not a UUID', () => {
    expect(() => stagingTableName('x; DROP TABLE y')).toThrow(/run id must be a UUID/);
  });
});

describe('column types', () => {
  it('maps spec types to what format_type() prints and back', () => {
    expect(catalogType('varchar(20)')).toBe('character varying(20)');
    expect(catalogType('numeric(12, 2)')).toBe('numeric(12,2)');
    expect(catalogType('numeric(10)')).toBe('numeric(10,0)');
    expect(catalogType('timestamptz')).toBe('timestamp with time zone');
    expect(catalogType('double precision')).toBe('double precision');
    expect(specTypeName('timestamp without time zone')).toBe('timestamp');
    expect(specTypeName('character varying(3)')).toBe('varchar(3)');
    expect(specTypeName('integer')).toBe('integer');
  });
});

describe('merge SQL', () => {
  it('keeps the latest row per key: highest chunk seq, then highest ordinal', () => {
    expect(squash(dedupedRowsSql(dest, 'sluice_staging.run_1'))).toBe(
      'SELECT DISTINCT ON ("id", "day") "id", "day", "amount" FROM "sluice_staging"."run_1" ORDER BY "id", "day", "_sluice_seq" DESC, "_sluice_ord" DESC',
    );
  });

  it('upserts every non-key column and skips rows that would not change', () => {
    expect(squash(mergeSql(dest, 'sluice_staging.run_1'))).toContain(
      'ON CONFLICT ("id", "day") DO UPDATE SET "amount" = EXCLUDED."amount" WHERE (t."amount") IS DISTINCT FROM (EXCLUDED."amount") RETURNING 1',
    );
  });

  it('appends with a plain INSERT, so an existing key fails', () => {
    const sql = squash(mergeSql({ ...dest, mode: 'append' }, 'sluice_staging.run_1'));
    expect(sql).toContain(
      'WITH w AS (INSERT INTO "analytics"."orders" AS t ("id", "day", "amount") SELECT DISTINCT ON ("id", "day") "id", "day", "amount" FROM "sluice_staging"."run_1" ORDER BY "id", "day", "_sluice_seq" DESC, "_sluice_ord" DESC RETURNING 1)',
    );
    expect(sql).toContain('(SELECT count(*) FROM w) AS distinct_rows');
    expect(sql).not.toContain('ON CONFLICT');
  });

  it('merges without the sort when no key repeats: a plain insert, or ON CONFLICT into a non-empty upsert target', () => {
    const append = mergeWithoutDedupeSql({ ...dest, mode: 'append' }, 'sluice_staging.run_1', false)!;
    expect(append).toEqual({
      sql: 'INSERT INTO "analytics"."orders" ("id", "day", "amount") SELECT "id", "day", "amount" FROM "sluice_staging"."run_1"',
      counts: 'rowCount',
    });
    expect(mergeWithoutDedupeSql(dest, 'sluice_staging.run_1', true)).toEqual(append);
    const upsert = mergeWithoutDedupeSql(dest, 'sluice_staging.run_1', false)!;
    expect(upsert.counts).toBe('row');
    expect(squash(upsert.sql)).toContain(
      'ON CONFLICT ("id", "day") DO UPDATE SET "amount" = EXCLUDED."amount"',
    );
    expect(squash(upsert.sql)).toContain(
      'SELECT s.n AS staged_rows, s.n AS distinct_rows, (SELECT count(*) FROM w) AS written',
    );
    // Without a key nothing can detect a repeat; an all-key upsert (DO NOTHING) would hide one.
    expect(
      mergeWithoutDedupeSql({ ...dest, key: undefined, mode: 'append' }, 'sluice_staging.run_1', false),
    ).toBeUndefined();
    const allKey = { ...dest, columns: { id: dest.columns.id!, day: dest.columns.day! } };
    expect(mergeWithoutDedupeSql(allKey, 'sluice_staging.run_1', false)).toBeUndefined();
    expect(mergeWithoutDedupeSql(allKey, 'sluice_staging.run_1', true)).toBeDefined();
  });

  it('gives the dedupe sort memory for the merge transaction only', () => {
    for (const mode of ['append', 'upsert', 'replace-partitions'] as const) {
      expect(squash(mergeSql({ ...dest, mode }, 'sluice_staging.run_1'))).toMatch(
        /^SET LOCAL work_mem = '\d+MB'; WITH /,
      );
    }
  });

  it('deletes replaced units by range with params', () => {
    expect(
      deleteUnitsSql(dest, [
        { start: '2024-01-01', end: '2024-02-01' },
        { start: '2024-03-01', end: '2024-04-01' },
      ]),
    ).toEqual({
      sql: 'DELETE FROM "analytics"."orders" WHERE ("day" >= $1 AND "day" < $2) OR ("day" >= $3 AND "day" < $4)',
      params: ['2024-01-01', '2024-02-01', '2024-03-01', '2024-04-01'],
    });
  });
});

describe('indexOn', () => {
  it('turns a partitioned index definition into the same index, unnamed, on another table', () => {
    expect(
      indexOn(
        'CREATE INDEX orders_customer_idx ON ONLY s.orders USING btree (customer)',
        's.orders',
        '"s"."t"',
      ),
    ).toBe('CREATE INDEX ON "s"."t" USING btree (customer)');
    expect(
      indexOn(
        'CREATE UNIQUE INDEX u ON ONLY s.orders USING btree (lower(email), d) INCLUDE (x) WHERE (d > 0)',
        's.orders',
        'x',
      ),
    ).toBe('CREATE UNIQUE INDEX ON x USING btree (lower(email), d) INCLUDE (x) WHERE (d > 0)');
  });

  it('anchors on the parent, so a name containing " USING " cannot mislead it', () => {
    expect(
      indexOn('CREATE INDEX "a USING b" ON ONLY s."t USING x" USING hash (c)', 's."t USING x"', 'n'),
    ).toBe('CREATE INDEX ON n USING hash (c)');
  });

  it('gives up on what is not an index definition on that parent', () => {
    expect(indexOn('DROP TABLE x', 's.orders', 'y')).toBeUndefined();
    expect(indexOn('CREATE INDEX i ON ONLY s.other USING btree (c)', 's.orders', 'y')).toBeUndefined();
  });
});
