import { assertSafeColumnName } from './errors.js';
import type { RowStep } from './step.js';

/** `drop: [a, b]`: removes these columns; a column the row does not have is simply not there. */
export function compileDrop(columns: readonly string[], path: string): RowStep {
  columns.forEach((name, i) => {
    assertSafeColumnName(name, `${path}[${i}]`);
  });
  return (row) => {
    for (const name of columns) delete row[name];
    return row;
  };
}
