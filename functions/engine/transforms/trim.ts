import { assertSafeColumnName } from './errors.js';
import type { RowStep } from './step.js';

/** `trim: all | [cols]`: strips leading and trailing whitespace (Unicode, incl. NBSP) from string values. */
export function compileTrim(columns: 'all' | readonly string[], path: string): RowStep {
  if (columns === 'all') {
    return (row) => {
      for (const name in row) {
        const value = row[name];
        if (typeof value === 'string') {
          const trimmed = value.trim();
          if (trimmed.length !== value.length) row[name] = trimmed;
        }
      }
      return row;
    };
  }
  columns.forEach((name, i) => {
    assertSafeColumnName(name, `${path}[${i}]`);
  });
  return (row) => {
    for (const name of columns) {
      const value = row[name];
      if (typeof value === 'string') {
        const trimmed = value.trim();
        if (trimmed.length !== value.length) row[name] = trimmed;
      }
    }
    return row;
  };
}
