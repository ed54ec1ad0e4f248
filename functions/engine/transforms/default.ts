import { assertSafeColumnName } from './errors.js';
import type { RowStep } from './step.js';

/** `default: {col: value}`: sets the value where the column is missing, null or an empty string. */
export function compileDefault(
  values: Readonly<Record<string, string | number | boolean>>,
  path: string,
): RowStep {
  const entries = Object.entries(values);
  for (const [name] of entries) assertSafeColumnName(name, `${path}.${name}`);
  return (row) => {
    for (const [name, fallback] of entries) {
      const value = row[name];
      if (value === undefined || value === null || value === '') row[name] = fallback;
    }
    return row;
  };
}
