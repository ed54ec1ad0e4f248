import { assertSafeColumnName, TransformConfigError } from './errors.js';
import type { RowStep } from './step.js';

/**
 * `rename: {from: to}`: renames columns, all at once (so `{a: b, b: a}` swaps them). A column the row
 * does not have is not renamed; a target that exists already is overwritten.
 */
export function compileRename(mapping: Readonly<Record<string, string>>, path: string): RowStep {
  const pairs: [from: string, to: string][] = [];
  const sourceOf = new Map<string, string>();
  for (const [from, to] of Object.entries(mapping)) {
    assertSafeColumnName(from, `${path}.${from}`);
    assertSafeColumnName(to, `${path}.${from}`);
    const other = sourceOf.get(to);
    if (other !== undefined) {
      throw new TransformConfigError(
        `${path}.${from}`,
        `both "${other}" and "${from}" are renamed to "${to}"`,
      );
    }
    sourceOf.set(to, from);
    if (from !== to) pairs.push([from, to]);
  }
  const count = pairs.length;
  if (count === 1) {
    const [from, to] = pairs[0]!;
    return (row) => {
      if (Object.hasOwn(row, from)) {
        const value = row[from];
        delete row[from];
        row[to] = value;
      }
      return row;
    };
  }
  return (row) => {
    const values = new Array<unknown>(count);
    const present = new Array<boolean>(count);
    for (let i = 0; i < count; i++) {
      const from = pairs[i]![0];
      present[i] = Object.hasOwn(row, from);
      if (present[i]) {
        values[i] = row[from];
        delete row[from];
      }
    }
    for (let i = 0; i < count; i++) if (present[i]) row[pairs[i]![1]] = values[i];
    return row;
  };
}
