// The migration plan: what changes between a target table (catalog + recorded spec versions) and the spec, each change safe or named by the --allow flag it needs.
import { quoteIdent, quoteQualified } from '../ports/sql.js';
import type { DestinationSpec } from '../spec/schema.js';
import { catalogType, specTypeName } from './column-types.js';

/** A column as the catalog has it (`format_type()` names). */
export interface TableColumn {
  name: string;
  type: string;
  notNull: boolean;
  hasDefault: boolean;
}

/** What the planner compares the spec with. */
export interface TableShape {
  /** `schema.table`. */
  table: string;
  columns: TableColumn[];
  /** Primary key columns, sorted; empty when none. */
  key: string[];
  /** The primary key constraint's name, when there is one. */
  keyConstraint?: string;
  /** Columns some recorded spec version declared (not those schema evolution or a person added). */
  declared: ReadonlySet<string>;
}

/** The flag `sluice migrate --apply` needs for a change that could lose or refuse data. */
export type AllowFlag = 'allow-drop-column' | 'allow-narrow-type' | 'allow-key-change';

export interface MigrationChange {
  kind:
    | 'add-column'
    | 'widen-type'
    | 'drop-not-null'
    | 'drop-column'
    | 'change-type'
    | 'set-not-null'
    | 'change-key';
  /** In the user's words: `add column "note" text (nullable)`. */
  description: string;
  /** The statements, in order. */
  ddl: string[];
  /** Absent: safe, applied by a run automatically. */
  allow?: AllowFlag;
}

export interface MigrationPlan {
  table: string;
  changes: MigrationChange[];
}

const INTEGER_RANK: Record<string, number> = { smallint: 1, integer: 2, bigint: 3 };
/** Decimal digits an integer type needs in a numeric: 5, 10, 19. */
const INTEGER_DIGITS: Record<string, number> = { smallint: 5, integer: 10, bigint: 19 };

/**
 * Whether every value of catalog type `from` is a value of `to`, unchanged: smallint → integer →
 * bigint, an integer type → a numeric with room for it, varchar(n) → a longer varchar or text, numeric
 * precision up (never scale down), real → double precision. date → timestamp is not: it changes values.
 */
export function isWidening(from: string, to: string): boolean {
  if (from === to) return true;
  const fi = INTEGER_RANK[from];
  const ti = INTEGER_RANK[to];
  if (fi !== undefined && ti !== undefined) return fi < ti;
  const toNumeric = /^numeric(?:\((\d+),(\d+)\))?$/.exec(to);
  if (fi !== undefined && toNumeric) {
    if (!toNumeric[1]) return true;
    return Number(toNumeric[1]) - Number(toNumeric[2]) >= INTEGER_DIGITS[from]!;
  }
  const fromNumeric = /^numeric(?:\((\d+),(\d+)\))?$/.exec(from);
  if (fromNumeric && toNumeric) {
    if (!toNumeric[1]) return true;
    if (!fromNumeric[1]) return false;
    const [fp, fs, tp, ts] = [fromNumeric[1], fromNumeric[2], toNumeric[1], toNumeric[2]].map(Number) as [
      number,
      number,
      number,
      number,
    ];
    return ts >= fs && tp - ts >= fp - fs;
  }
  const fromVarchar = /^character varying\((\d+)\)$/.exec(from);
  if (fromVarchar) {
    if (to === 'text') return true;
    const toVarchar = /^character varying\((\d+)\)$/.exec(to);
    return toVarchar !== null && Number(toVarchar[1]) >= Number(fromVarchar[1]);
  }
  return from === 'real' && to === 'double precision';
}

/**
 * Diffs the table with the spec's destination into the changes that make the table match it. Safe
 * changes (add a nullable column, widen a type, drop a NOT NULL) carry no `allow`; the others name the
 * flag that applies them. Partitioning is not migrated (a different partitioning is another table):
 * ensureTargetTable refuses it on its own.
 */
export function planMigration(shape: TableShape, dest: DestinationSpec): MigrationPlan {
  const table = quoteQualified(shape.table);
  const changes: MigrationChange[] = [];
  const actual = new Map(shape.columns.map((c) => [c.name, c]));
  for (const [name, col] of Object.entries(dest.columns)) {
    const column = quoteIdent(name);
    const found = actual.get(name);
    const wanted = catalogType(col.type);
    if (!found) {
      changes.push({
        kind: 'add-column',
        description: `add column "${name}" ${col.type}${col.nullable ? ' (nullable)' : ' NOT NULL'}`,
        ddl: [`ALTER TABLE ${table} ADD COLUMN ${column} ${col.type}${col.nullable ? '' : ' NOT NULL'}`],
        // A NOT NULL column without a default cannot be added to a table that has rows.
        ...(col.nullable ? {} : { allow: 'allow-narrow-type' as const }),
      });
      continue;
    }
    if (found.type !== wanted) {
      const widening = isWidening(found.type, wanted);
      changes.push({
        kind: widening ? 'widen-type' : 'change-type',
        description: `${widening ? 'widen' : 'change'} column "${name}" from ${specTypeName(found.type)} to ${col.type}${widening ? '' : ' (values that do not fit fail the migration)'}`,
        ddl: [`ALTER TABLE ${table} ALTER COLUMN ${column} TYPE ${col.type} USING ${column}::${col.type}`],
        ...(widening ? {} : { allow: 'allow-narrow-type' as const }),
      });
    }
    if (found.notNull && col.nullable) {
      changes.push({
        kind: 'drop-not-null',
        description: `allow nulls in column "${name}"`,
        ddl: [`ALTER TABLE ${table} ALTER COLUMN ${column} DROP NOT NULL`],
      });
    } else if (!found.notNull && !col.nullable) {
      changes.push({
        kind: 'set-not-null',
        description: `make column "${name}" NOT NULL (fails while a row holds null there)`,
        ddl: [`ALTER TABLE ${table} ALTER COLUMN ${column} SET NOT NULL`],
        allow: 'allow-narrow-type',
      });
    }
  }
  for (const found of shape.columns) {
    if (found.name in dest.columns) continue;
    // A column a spec once declared and the spec no longer has: dropped from the spec. Loading on
    // would leave it NULL in every new row, silently; dropping it loses its data: both need a decision.
    if (shape.declared.has(found.name) || (found.notNull && !found.hasDefault)) {
      changes.push({
        kind: 'drop-column',
        description: `drop column "${found.name}" ${specTypeName(found.type)} (no longer in the spec; its data is lost)`,
        ddl: [`ALTER TABLE ${table} DROP COLUMN ${quoteIdent(found.name)}`],
        allow: 'allow-drop-column',
      });
    }
  }
  const specKey = [...(dest.key ?? [])].sort();
  if (specKey.length > 0 && specKey.join(',') !== shape.key.join(',')) {
    const constraint = quoteIdent(shape.keyConstraint ?? `${shape.table.split('.').at(-1)}_pkey`);
    changes.push({
      kind: 'change-key',
      description: `change the primary key from ${shape.key.length > 0 ? `(${shape.key.join(', ')})` : 'none'} to (${specKey.join(', ')}) (fails while a key repeats)`,
      ddl: [
        ...(shape.key.length > 0 ? [`ALTER TABLE ${table} DROP CONSTRAINT ${constraint}`] : []),
        `ALTER TABLE ${table} ADD CONSTRAINT ${constraint} PRIMARY KEY (${(dest.key ?? []).map(quoteIdent).join(', ')})`,
      ],
      allow: 'allow-key-change',
    });
  }
  return { table: shape.table, changes };
}

/** The changes a run may apply by itself (no --allow flag needed). */
export function safeChanges(plan: MigrationPlan): MigrationChange[] {
  return plan.changes.filter((c) => c.allow === undefined);
}

/** The plan as SQL, one statement per line, each preceded by what it does and the flag it needs. */
export function formatPlan(plan: MigrationPlan): string {
  if (plan.changes.length === 0) return `-- ${plan.table} matches the spec: nothing to migrate\n`;
  return plan.changes
    .map(
      (c) =>
        `-- ${c.description}${c.allow ? ` [needs --${c.allow}]` : ' [safe]'}\n${c.ddl.map((d) => `${d};`).join('\n')}\n`,
    )
    .join('');
}
