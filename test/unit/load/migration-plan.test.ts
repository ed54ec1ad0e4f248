import { describe, expect, it } from 'vitest';
import {
  formatPlan,
  isWidening,
  planMigration,
  safeChanges,
  type TableShape,
} from '../../../functions/engine/load/migration-plan.js';
import type { DestinationSpec } from '../../../functions/engine/spec/schema.js';

/** The table as the catalog has it: id bigint, day date, note varchar(20), qty smallint; key (id, day). */
function shape(patch: Partial<TableShape> = {}): TableShape {
  return {
    table: 'shop.sales',
    columns: [
      { name: 'id', type: 'bigint', notNull: true, hasDefault: false },
      { name: 'day', type: 'date', notNull: true, hasDefault: false },
      { name: 'note', type: 'character varying(20)', notNull: false, hasDefault: false },
      { name: 'qty', type: 'smallint', notNull: false, hasDefault: false },
    ],
    key: ['day', 'id'],
    keyConstraint: 'sales_pkey',
    declared: new Set(['id', 'day', 'note', 'qty']),
    ...patch,
  };
}

function spec(columns: Record<string, string | { type: string; nullable: boolean }>, key = ['id', 'day']) {
  return {
    schema: 'shop',
    table: 'sales',
    mode: 'append',
    key,
    partitioning: { column: 'day', by: 'month' },
    columns: Object.fromEntries(
      Object.entries(columns).map(([n, c]) => [n, typeof c === 'string' ? { type: c, nullable: true } : c]),
    ),
  } as DestinationSpec;
}

const SAME = {
  id: { type: 'bigint', nullable: false },
  day: { type: 'date', nullable: false },
  note: 'varchar(20)',
  qty: 'smallint',
};

describe('planMigration', () => {
  it('plans nothing when the table matches the spec', () => {
    expect(planMigration(shape(), spec(SAME)).changes).toEqual([]);
    expect(formatPlan(planMigration(shape(), spec(SAME)))).toBe(
      '-- shop.sales matches the spec: nothing to migrate\n',
    );
  });

  it('applies by itself: a new nullable column, widened types', () => {
    const plan = planMigration(shape(), spec({ ...SAME, note: 'text', qty: 'integer', coupon: 'text' }));

    expect(plan.changes.map((c) => [c.kind, c.allow])).toEqual([
      ['widen-type', undefined],
      ['widen-type', undefined],
      ['add-column', undefined],
    ]);
    expect(safeChanges(plan)).toHaveLength(3);
    expect(formatPlan(plan)).toBe(
      [
        '-- widen column "note" from varchar(20) to text [safe]',
        'ALTER TABLE "shop"."sales" ALTER COLUMN "note" TYPE text USING "note"::text;',
        '-- widen column "qty" from smallint to integer [safe]',
        'ALTER TABLE "shop"."sales" ALTER COLUMN "qty" TYPE integer USING "qty"::integer;',
        '-- add column "coupon" text (nullable) [safe]',
        'ALTER TABLE "shop"."sales" ADD COLUMN "coupon" text;',
        '',
      ].join('\n'),
    );
  });

  it('fails safe on a column removed from the spec: a drop that needs --allow-drop-column', () => {
    const { note: _gone, ...rest } = SAME;
    const plan = planMigration(shape(), spec(rest));

    expect(plan.changes).toEqual([
      {
        kind: 'drop-column',
        description: 'drop column "note" varchar(20) (no longer in the spec; its data is lost)',
        ddl: ['ALTER TABLE "shop"."sales" DROP COLUMN "note"'],
        allow: 'allow-drop-column',
      },
    ]);
    expect(safeChanges(plan)).toEqual([]);
  });

  it('leaves alone a nullable column no spec declared (added by schema evolution or by hand)', () => {
    const table = shape({
      columns: [...shape().columns, { name: 'loaded_by', type: 'text', notNull: false, hasDefault: false }],
    });

    expect(planMigration(table, spec(SAME)).changes).toEqual([]);
  });

  it('needs --allow-narrow-type for a narrower or other type, a new NOT NULL, or NOT NULL on a column', () => {
    const plan = planMigration(
      shape(),
      spec({
        ...SAME,
        note: 'varchar(10)',
        qty: { type: 'smallint', nullable: false },
        day: { type: 'timestamp', nullable: false },
        extra: { type: 'text', nullable: false },
      }),
    );

    expect(plan.changes.map((c) => `${c.kind}:${c.allow}`)).toEqual([
      'change-type:allow-narrow-type',
      'change-type:allow-narrow-type',
      'set-not-null:allow-narrow-type',
      'add-column:allow-narrow-type',
    ]);
    expect(plan.changes[0]!.description).toBe(
      'change column "day" from date to timestamp (values that do not fit fail the migration)',
    );
  });

  it('needs --allow-key-change for another key, dropping the old constraint first', () => {
    const plan = planMigration(shape(), spec(SAME, ['id', 'day', 'qty']));

    expect(plan.changes).toEqual([
      {
        kind: 'change-key',
        description: 'change the primary key from (day, id) to (day, id, qty) (fails while a key repeats)',
        ddl: [
          'ALTER TABLE "shop"."sales" DROP CONSTRAINT "sales_pkey"',
          'ALTER TABLE "shop"."sales" ADD CONSTRAINT "sales_pkey" PRIMARY KEY ("id", "day", "qty")',
        ],
        allow: 'allow-key-change',
      },
    ]);
  });
});

describe('isWidening', () => {
  it.each([
    ['smallint', 'integer', true],
    ['integer', 'bigint', true],
    ['smallint', 'bigint', true],
    ['bigint', 'integer', false],
    ['integer', 'numeric', true],
    ['integer', 'numeric(12,2)', true],
    ['integer', 'numeric(10,2)', false],
    ['bigint', 'numeric(19,0)', true],
    ['numeric(10,2)', 'numeric(12,2)', true],
    ['numeric(10,2)', 'numeric(12,4)', true],
    ['numeric(10,2)', 'numeric(10,4)', false],
    ['numeric(12,4)', 'numeric(14,2)', false],
    ['numeric(10,2)', 'numeric', true],
    ['numeric', 'numeric(38,2)', false],
    ['character varying(20)', 'character varying(40)', true],
    ['character varying(20)', 'text', true],
    ['character varying(20)', 'character varying(10)', false],
    ['text', 'character varying(40)', false],
    ['real', 'double precision', true],
    ['date', 'timestamp without time zone', false],
    ['timestamp without time zone', 'timestamp with time zone', false],
  ])('%s -> %s: %s', (from, to, expected) => {
    expect(isWidening(from, to)).toBe(expected);
  });
});
