import { assertSafeColumnName } from './errors.js';
import type { RowStep } from './step.js';

/** `case: {columns, to: lower|upper}`: changes the case of string values (locale-independent); others stay. */
export function compileCase(
  spec: { columns: readonly string[]; to: 'lower' | 'upper' },
  path: string,
): RowStep {
  spec.columns.forEach((name, i) => {
    assertSafeColumnName(name, `${path}.columns[${i}]`);
  });
  const { columns } = spec;
  const upper = spec.to === 'upper';
  return (row) => {
    for (const name of columns) {
      const value = row[name];
      if (typeof value === 'string') row[name] = upper ? value.toUpperCase() : value.toLowerCase();
    }
    return row;
  };
}
