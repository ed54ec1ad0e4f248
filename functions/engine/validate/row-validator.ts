import type { ColumnSpec } from '../spec/schema.js';
import type { Row } from '../types.js';
import { compileColumnCheck } from './column-check.js';
import { Invalid } from './invalid.js';

export type ValidationOutcome =
  | { ok: true; values: (string | null)[] }
  | { ok: false; column: string; reason: string };

const LONE_SURROGATE =
  'contains a lone UTF-16 surrogate, which is not Unicode text (it would reach PostgreSQL as U+FFFD)';

/** ES2024 String.prototype.isWellFormed (Node 20+; the ES2023 lib this project compiles with lacks it). */
function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

interface CompiledColumn {
  name: string;
  nullable: boolean;
  emptyStringIsNull: boolean;
  check: (value: unknown) => string | Invalid;
  /** `__proto__` is a legal column name, but reading it from a plain object finds Object.prototype. */
  ownPropertyOnly: boolean;
  requiredReason: string;
}

/**
 * Compiles a validator for the destination columns, in the order of `Object.keys(columns)`. Each
 * output value is the text PostgreSQL accepts in COPY for the column's type, or null. Missing, null
 * and (except for text/varchar) empty-string values are NULL; NULL in a `nullable: false` column, a
 * string with a NUL byte or a lone surrogate, or a value the type cannot hold rejects the row naming the column. Row
 * fields that are not destination columns are ignored.
 * @example compileRowValidator({ id: { type: 'integer', nullable: false } })({ id: '42' }) // { ok: true, values: ['42'] }
 */
export function compileRowValidator(columns: Record<string, ColumnSpec>): (row: Row) => ValidationOutcome {
  const compiled: CompiledColumn[] = Object.entries(columns).map(([name, spec]) => {
    const { check, emptyStringIsNull } = compileColumnCheck(name, spec.type);
    return {
      name,
      nullable: spec.nullable !== false,
      emptyStringIsNull,
      check,
      ownPropertyOnly: name === '__proto__',
      requiredReason: `column "${name}" is required (nullable: false) but the value is empty`,
    };
  });
  const count = compiled.length;

  return (row) => {
    const values = new Array<string | null>(count);
    for (let i = 0; i < count; i++) {
      const column = compiled[i]!;
      let value = column.ownPropertyOnly && !Object.hasOwn(row, column.name) ? undefined : row[column.name];
      if (typeof value === 'string') {
        if (value.indexOf('\0') !== -1)
          return { ok: false, column: column.name, reason: 'contains a NUL byte' };
        if (!isWellFormed(value)) return { ok: false, column: column.name, reason: LONE_SURROGATE };
        if (value === '' && column.emptyStringIsNull) value = null;
      }
      if (value === null || value === undefined) {
        if (!column.nullable) return { ok: false, column: column.name, reason: column.requiredReason };
        values[i] = null;
        continue;
      }
      const text = column.check(value);
      if (text instanceof Invalid) return { ok: false, column: column.name, reason: text.reason };
      values[i] = text;
    }
    return { ok: true, values };
  };
}
