// Issue 12.3: a target's schema changes as versioned migrations: safe ones in Prepare, the others through sluice migrate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureInternalSchema,
  ensureTargetTable,
  formatPlan,
  MigrationNotAllowedError,
  migrateTargetTable,
  SchemaMismatchError,
} from '../../../functions/engine/load/index.js';
import type { DestinationSpec } from '../../../functions/engine/spec/schema.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';
import { ordersSpec } from './helpers.js';

describe.each(warehouseTargets)('target migrations on $name', (target) => {
  let db: TestWarehouse;
  let n = 0;
  const meta = (version: number) => ({ pipeline: 'orders', version, hash: `hash-${n}-${version}` });

  /** The orders destination (partitioned by month) in a fresh schema, created, with two rows in it. */
  async function loadedTable(): Promise<DestinationSpec> {
    n += 1;
    const dest = ordersSpec({ schema: `mig_${n}` }).spec.destination;
    await ensureTargetTable(db.wh, dest, meta(1));
    await db.wh.query(
      `CREATE TABLE mig_${n}.orders_p202401 PARTITION OF mig_${n}.orders FOR VALUES FROM ('2024-01-01') TO ('2024-02-01')`,
    );
    await db.wh.query(
      `INSERT INTO mig_${n}.orders (order_id, order_date, customer, amount, note)
       VALUES (1, '2024-01-05', 'alice', 10.50, 'a'), (2, '2024-02-06', 'bob', 20.00, NULL)`,
    );
    return dest;
  }
  const columnsOf = async (table: string) =>
    (
      await db.wh.query<{ name: string; type: string }>(
        `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
          WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        [table],
      )
    ).rows;
  const versions = async () =>
    (
      await db.wh.query<{ version: number; action: string; migrated: string[] | null }>(
        `SELECT spec_version AS version, action, definition -> 'migrated' AS migrated
           FROM sluice.table_versions WHERE table_schema = $1 ORDER BY applied_at, spec_version`,
        [`mig_${n}`],
      )
    ).rows;

  beforeAll(async () => {
    db = await target.open();
    await ensureInternalSchema(db.wh);
  });
  afterAll(() => db?.dispose());

  it('a spec that adds a nullable column and widens a type migrates the table in Prepare, recorded, rows kept', async () => {
    const v1 = await loadedTable();
    const v2: DestinationSpec = {
      ...v1,
      columns: {
        ...v1.columns,
        amount: { type: 'numeric(14,2)', nullable: false },
        channel: { type: 'varchar(20)', nullable: true },
      },
    };

    const result = await ensureTargetTable(db.wh, v2, meta(2));

    expect(result.migrated).toEqual([
      'widen column "amount" from numeric(12,2) to numeric(14,2)',
      'add column "channel" varchar(20) (nullable)',
    ]);
    const table = `mig_${n}.orders`;
    expect((await columnsOf(table)).slice(-2)).toEqual([
      { name: 'note', type: 'text' },
      { name: 'channel', type: 'character varying(20)' },
    ]);
    // The partitions have the new shape too (ALTER on the parent propagates).
    expect((await columnsOf(`mig_${n}.orders_p202401`)).map((c) => c.type)).toContain('numeric(14,2)');
    expect((await columnsOf(`mig_${n}.orders_default`)).map((c) => c.name)).toContain('channel');
    const rows = await db.wh.query(
      `SELECT order_id::int AS id, amount::text, channel FROM ${table} ORDER BY 1`,
    );
    expect(rows.rows).toEqual([
      { id: 1, amount: '10.50', channel: null },
      { id: 2, amount: '20.00', channel: null },
    ]);
    expect(await versions()).toEqual([
      { version: 1, action: 'created', migrated: null },
      { version: 2, action: 'migrated', migrated: result.migrated },
    ]);
    // The run right after: the table matches, it is only verified.
    expect(await ensureTargetTable(db.wh, v2, { ...meta(2), hash: 'again' })).toEqual({
      table,
      created: false,
    });
  });

  it('fails when the spec drops a column: refused naming it and the command; migrate --plan, --apply with the flag', async () => {
    const v1 = await loadedTable();
    const { note: _dropped, ...columns } = v1.columns;
    const v2: DestinationSpec = { ...v1, columns };
    const table = `mig_${n}.orders`;

    const err = await ensureTargetTable(db.wh, v2, meta(2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaMismatchError);
    expect(String(err)).toContain(
      'drop column "note" text (no longer in the spec; its data is lost) [needs --allow-drop-column]',
    );
    expect(String(err)).toContain('sluice migrate orders --apply --allow-drop-column');

    const plan = await migrateTargetTable(db.wh, v2, meta(2), { apply: false });
    expect(formatPlan(plan)).toBe(
      `-- drop column "note" text (no longer in the spec; its data is lost) [needs --allow-drop-column]\nALTER TABLE "mig_${n}"."orders" DROP COLUMN "note";\n`,
    );
    await expect(migrateTargetTable(db.wh, v2, meta(2), { apply: true })).rejects.toBeInstanceOf(
      MigrationNotAllowedError,
    );
    expect((await columnsOf(table)).map((c) => c.name)).toContain('note');

    await migrateTargetTable(db.wh, v2, meta(2), { apply: true, allow: new Set(['allow-drop-column']) });

    expect((await columnsOf(table)).map((c) => c.name)).not.toContain('note');
    expect((await versions()).at(-1)).toMatchObject({ version: 2, action: 'migrated' });
    expect(await ensureTargetTable(db.wh, v2, meta(2))).toMatchObject({ created: false });
  });

  it('fails on a narrowed type until --allow-narrow-type, then applies it in one transaction', async () => {
    const v1 = await loadedTable();
    const v2: DestinationSpec = {
      ...v1,
      columns: { ...v1.columns, customer: { type: 'varchar(3)', nullable: false } },
    };

    await expect(ensureTargetTable(db.wh, v2, meta(2))).rejects.toThrow(
      'change column "customer" from text to varchar(3) (values that do not fit fail the migration) [needs --allow-narrow-type]',
    );
    // 'alice' does not fit: the migration fails and changes nothing.
    await expect(
      migrateTargetTable(db.wh, v2, meta(2), { apply: true, allow: new Set(['allow-narrow-type']) }),
    ).rejects.toThrow(
      'column "customer": value alice does not fit varchar(3) unchanged; nothing was migrated',
    );
    expect((await columnsOf(`mig_${n}.orders`)).find((c) => c.name === 'customer')?.type).toBe('text');
  });
});
