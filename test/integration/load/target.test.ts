import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyRetention,
  ensureInternalSchema,
  ensurePartitions,
  ensureTargetTable,
  MAX_NEW_PARTITIONS_PER_RUN,
  PartitionLimitError,
  SchemaMismatchError,
} from '../../../functions/engine/load/index.js';
import type { Warehouse } from '../../../functions/engine/ports/warehouse.js';
import type { DestinationSpec } from '../../../functions/engine/spec/schema.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';
import { ordersSpec } from './helpers.js';

const META = { pipeline: 'orders', version: 1, hash: 'hash-1' };

function dest(schema: string, patch: Partial<DestinationSpec> = {}): DestinationSpec {
  return ordersSpec({ schema, ...patch }).spec.destination;
}

async function partitionsOf(wh: Warehouse, table: string) {
  const { rows } = await wh.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = to_regclass($1) ORDER BY 1`,
    [table],
  );
  return rows;
}

/** A staging-like table holding just the partition column, filled by a SELECT. */
async function stageDates(wh: Warehouse, name: string, type: string, valuesSql: string) {
  await wh.query(`CREATE TABLE ${name} AS SELECT v::${type} AS order_date FROM (${valuesSql}) AS s(v)`);
  return name;
}

describe.each(warehouseTargets)('target tables and partitions on $name', (target) => {
  let db: TestWarehouse;
  beforeAll(async () => {
    db = await target.open();
    await ensureInternalSchema(db.wh);
    await db.wh.query('CREATE SCHEMA stage');
  });
  afterAll(() => db?.dispose());

  describe('ensureTargetTable', () => {
    it('creates a range-partitioned table with its key, NOT NULLs and a default partition, and records it', async () => {
      const d = dest('tt_create');
      expect(await ensureTargetTable(db.wh, d, META)).toEqual({ table: 'tt_create.orders', created: true });

      const { rows } = await db.wh.query(
        `SELECT pg_get_partkeydef(to_regclass('tt_create.orders')) AS partkey,
                (SELECT array_agg(attname::text ORDER BY attname) FROM pg_attribute
                  WHERE attrelid = to_regclass('tt_create.orders') AND attnotnull AND attnum > 0) AS not_null,
                (SELECT pg_get_constraintdef(oid) FROM pg_constraint
                  WHERE conrelid = to_regclass('tt_create.orders') AND contype = 'p') AS pkey`,
      );
      expect(rows[0]).toEqual({
        partkey: 'RANGE (order_date)',
        not_null: ['amount', 'customer', 'order_date', 'order_id'],
        pkey: 'PRIMARY KEY (order_id, order_date)',
      });
      expect(await partitionsOf(db.wh, 'tt_create.orders')).toEqual([
        { name: 'orders_default', bound: 'DEFAULT' },
      ]);
      const versions = await db.wh.query(
        `SELECT pipeline, spec_version, spec_hash, action, definition -> 'partitioning' AS partitioning
           FROM sluice.table_versions WHERE table_schema = 'tt_create'`,
      );
      expect(versions.rows).toEqual([
        {
          pipeline: 'orders',
          spec_version: 1,
          spec_hash: 'hash-1',
          action: 'created',
          partitioning: { column: 'order_date', by: 'month' },
        },
      ]);
    });

    it('accepts an existing matching table (extra nullable columns too) and records the verification', async () => {
      const d = dest('tt_verify');
      await ensureTargetTable(db.wh, d, META);
      await db.wh.query('ALTER TABLE tt_verify.orders ADD COLUMN loaded_by text');
      expect(await ensureTargetTable(db.wh, d, { ...META, version: 2, hash: 'hash-2' })).toEqual({
        table: 'tt_verify.orders',
        created: false,
      });
      const { rows } = await db.wh.query(
        `SELECT action FROM sluice.table_versions WHERE table_schema = 'tt_verify' ORDER BY spec_version`,
      );
      expect(rows).toEqual([{ action: 'created' }, { action: 'verified' }]);
    });

    it('creates tables of one new schema concurrently', async () => {
      await Promise.all(
        ['a', 'b', 'c'].map((t) =>
          ensureTargetTable(db.wh, dest('tt_concurrent', { table: `orders_${t}` }), META),
        ),
      );
      const { rows } = await db.wh.query(
        `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'tt_concurrent' AND c.relkind = 'p'`,
      );
      expect(rows).toEqual([{ n: 3 }]);
    });

    it('fails when the table differs from the spec in a way that is not safe, naming each change and the command; nothing changes', async () => {
      await db.wh.query(`CREATE SCHEMA tt_mismatch;
        CREATE TABLE tt_mismatch.orders (
          order_id integer NOT NULL, order_date date NOT NULL, customer text NOT NULL, note text NOT NULL,
          region text NOT NULL, PRIMARY KEY (order_id, order_date)
        ) PARTITION BY RANGE (order_date)`);
      const err = await ensureTargetTable(db.wh, dest('tt_mismatch'), META).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SchemaMismatchError);
      expect((err as SchemaMismatchError).name).toBe('SchemaMismatchError');
      // The safe changes (widen order_id, drop note's NOT NULL) wait for the unsafe ones.
      expect((err as SchemaMismatchError).differences).toEqual([
        'add column "amount" numeric(12,2) NOT NULL [needs --allow-narrow-type]',
        'drop column "region" text (no longer in the spec; its data is lost) [needs --allow-drop-column]',
      ]);
      expect((err as Error).message).toContain('table tt_mismatch.orders does not match the spec');
      expect((err as Error).message).toContain(
        'Nothing was changed. See the DDL with: sluice migrate orders --plan; apply it with: sluice migrate orders --apply --allow-narrow-type --allow-drop-column',
      );
      const type = await db.wh.query(
        `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
          WHERE attrelid = 'tt_mismatch.orders'::regclass AND attname = 'order_id'`,
      );
      expect(type.rows).toEqual([{ type: 'integer' }]);
    });

    it('fails when the key, the partition column or the partition unit differ', async () => {
      const d = dest('tt_keys');
      await ensureTargetTable(db.wh, d, META);
      const err = await ensureTargetTable(
        db.wh,
        { ...d, key: ['order_id'], partitioning: { column: 'order_id', by: 'day' } },
        { ...META, hash: 'hash-other' },
      ).catch((e: unknown) => e);
      expect((err as SchemaMismatchError).differences).toEqual([
        'change the primary key from (order_date, order_id) to (order_id) (fails while a key repeats) [needs --allow-key-change]',
        'partitioning: table is partitioned by range on (order_date), spec says range on (order_id)',
        'partitioning: table is partitioned by month, spec says by day',
      ]);
    });

    it('fails when the table exists but is not partitioned', async () => {
      await db.wh.query('CREATE SCHEMA tt_plain; CREATE TABLE tt_plain.orders (order_id bigint)');
      await expect(ensureTargetTable(db.wh, dest('tt_plain'), META)).rejects.toThrow(
        /is not a partitioned table/,
      );
    });
  });

  describe('ensurePartitions', () => {
    it('creates one partition per day, named <table>_pYYYYMMDD, cutting timestamptz in UTC', async () => {
      const d = dest('p_day', {
        columns: { order_date: { type: 'timestamptz', nullable: false } },
        key: undefined,
        partitioning: { column: 'order_date', by: 'day' },
      });
      await ensureTargetTable(db.wh, d, META);
      const staging = await stageDates(
        db.wh,
        'stage.p_day',
        'timestamptz',
        `VALUES ('2024-01-01 23:30:00-05'), ('2024-01-02 01:00:00+00'), ('2024-01-03 00:00:00+00')`,
      );
      expect(await ensurePartitions(db.wh, d, staging)).toEqual(['orders_p20240102', 'orders_p20240103']);
      const parts = await partitionsOf(db.wh, 'p_day.orders');
      expect(parts.map((p) => p.name)).toEqual(['orders_default', 'orders_p20240102', 'orders_p20240103']);
      // Rows then land in their partition, not the default.
      await db.wh.query('INSERT INTO p_day.orders SELECT order_date FROM stage.p_day');
      const landed = await db.wh.query(
        'SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM p_day.orders GROUP BY 1 ORDER BY 1',
      );
      expect(landed.rows).toEqual([
        { part: 'p_day.orders_p20240102', n: 2 },
        { part: 'p_day.orders_p20240103', n: 1 },
      ]);
    });

    it('creates ISO-week partitions named by their Monday', async () => {
      const d = dest('p_week', { partitioning: { column: 'order_date', by: 'week' } });
      await ensureTargetTable(db.wh, d, META);
      const staging = await stageDates(
        db.wh,
        'stage.p_week',
        'date',
        `VALUES ('2024-01-03'), ('2024-01-07'), ('2024-01-08'), ('2023-12-31')`,
      );
      expect(await ensurePartitions(db.wh, d, staging)).toEqual([
        'orders_p20231225',
        'orders_p20240101',
        'orders_p20240108',
      ]);
      const parts = await partitionsOf(db.wh, 'p_week.orders');
      expect(parts.find((p) => p.name === 'orders_p20240101')?.bound).toBe(
        "FOR VALUES FROM ('2024-01-01') TO ('2024-01-08')",
      );
    });

    it('creates month and year partitions, and is a no-op when they exist', async () => {
      const month = dest('p_month');
      await ensureTargetTable(db.wh, month, META);
      const staging = await stageDates(
        db.wh,
        'stage.p_month',
        'date',
        `VALUES ('2024-01-31'), ('2024-02-01')`,
      );
      expect(await ensurePartitions(db.wh, month, staging)).toEqual(['orders_p202401', 'orders_p202402']);
      expect(await ensurePartitions(db.wh, month, staging)).toEqual(['orders_p202401', 'orders_p202402']);
      expect((await partitionsOf(db.wh, 'p_month.orders')).length).toBe(3);

      const year = dest('p_year', {
        columns: { order_date: { type: 'timestamp', nullable: false } },
        key: undefined,
        partitioning: { column: 'order_date', by: 'year' },
      });
      await ensureTargetTable(db.wh, year, META);
      const yStaging = await stageDates(
        db.wh,
        'stage.p_year',
        'timestamp',
        `VALUES ('2023-12-31 23:59:59'), ('2024-06-01 00:00:00')`,
      );
      expect(await ensurePartitions(db.wh, year, yStaging)).toEqual(['orders_p2023', 'orders_p2024']);
      const parts = await partitionsOf(db.wh, 'p_year.orders');
      expect(parts.find((p) => p.name === 'orders_p2024')?.bound).toBe(
        "FOR VALUES FROM ('2024-01-01 00:00:00') TO ('2025-01-01 00:00:00')",
      );
    });

    it('moves rows that sit in the default partition into the new partition of their range', async () => {
      const d = dest('p_move');
      await ensureTargetTable(db.wh, d, META);
      await db.wh.query(
        `INSERT INTO p_move.orders (order_id, order_date, customer, amount)
         VALUES (1, '2024-05-10', 'early', 1), (2, '2024-07-01', 'other month', 2)`,
      );
      const staging = await stageDates(db.wh, 'stage.p_move', 'date', `VALUES ('2024-05-03')`);
      expect(await ensurePartitions(db.wh, d, staging)).toEqual(['orders_p202405']);
      const { rows } = await db.wh.query(
        'SELECT order_id, tableoid::regclass::text AS part FROM p_move.orders ORDER BY order_id',
      );
      expect(rows).toEqual([
        { order_id: 1, part: 'p_move.orders_p202405' },
        { order_id: 2, part: 'p_move.orders_default' },
      ]);
      expect((await partitionsOf(db.wh, 'p_move.orders')).find((p) => p.bound === 'DEFAULT')?.name).toBe(
        'orders_default',
      );
    });

    it(`fails when the data would create more than ${MAX_NEW_PARTITIONS_PER_RUN} partitions, creating none`, async () => {
      const d = dest('p_limit', { partitioning: { column: 'order_date', by: 'day' } });
      await ensureTargetTable(db.wh, d, META);
      const staging = await stageDates(
        db.wh,
        'stage.p_limit',
        'date',
        `SELECT generate_series('2020-01-01'::date, '2022-12-31'::date, interval '1 day')`,
      );
      const err = await ensurePartitions(db.wh, d, staging).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PartitionLimitError);
      expect((err as Error).message).toMatch(/would create 1096 new partitions \(2020-01-01 … 2022-12-31\)/);
      expect((await partitionsOf(db.wh, 'p_limit.orders')).map((p) => p.name)).toEqual(['orders_default']);
    });
  });

  describe('applyRetention', () => {
    it('drops partitions that ended keep units or more before the current one, never the default', async () => {
      const d = dest('p_retention', { retention: { keep: 2 } });
      await ensureTargetTable(db.wh, d, META);
      const staging = await stageDates(
        db.wh,
        'stage.p_retention',
        'date',
        `SELECT generate_series('2024-01-15'::date, '2024-06-15'::date, interval '1 month')`,
      );
      await ensurePartitions(db.wh, d, staging);
      await db.wh.query(
        `INSERT INTO p_retention.orders (order_id, order_date, customer, amount)
         SELECT row_number() OVER (), order_date, 'c', 1 FROM stage.p_retention`,
      );
      await db.wh.query(`CREATE TABLE p_retention.orders_manual PARTITION OF p_retention.orders
                          FOR VALUES FROM ('2000-01-01') TO ('2000-02-01')`);

      const dropped = await applyRetention(db.wh, d, { now: new Date('2024-06-15T12:00:00Z') });
      expect(dropped).toEqual(['orders_p202401', 'orders_p202402', 'orders_p202403']);
      expect((await partitionsOf(db.wh, 'p_retention.orders')).map((p) => p.name)).toEqual([
        'orders_default',
        'orders_manual',
        'orders_p202404',
        'orders_p202405',
        'orders_p202406',
      ]);
      const left = await db.wh.query(`SELECT count(*)::int AS n FROM p_retention.orders`);
      expect(left.rows).toEqual([{ n: 3 }]);
      expect(await applyRetention(db.wh, d, { now: new Date('2024-06-15T12:00:00Z') })).toEqual([]);
    });

    it('does nothing without retention', async () => {
      expect(await applyRetention(db.wh, dest('p_month'))).toEqual([]);
    });
  });
});
