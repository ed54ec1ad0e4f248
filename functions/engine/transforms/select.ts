import type { Row } from '../types.js';
import { assertSafeColumnName } from './errors.js';
import { RowRejection, type RowStep } from './step.js';

/** `select: [a, b]`: keeps only these columns, in this order; a row without one of them is rejected naming it. */
export function compileSelect(columns: readonly string[], path: string): RowStep {
  columns.forEach((name, i) => {
    assertSafeColumnName(name, `${path}[${i}]`);
  });
  const missingReasons = columns.map((name) => `column "${name}" is missing`);
  return (row) => {
    const selected: Row = {};
    for (let i = 0; i < columns.length; i++) {
      const name = columns[i]!;
      const value = row[name];
      if (value === undefined && !Object.hasOwn(row, name)) return new RowRejection(missingReasons[i]!, name);
      selected[name] = value;
    }
    return selected;
  };
}
