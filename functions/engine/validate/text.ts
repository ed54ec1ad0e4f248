import { describeValue } from './describe-value.js';
import { type ColumnCheck, Invalid } from './invalid.js';

/** text: strings as they are; numbers and booleans as their text; objects and arrays as JSON. */
export const checkText: ColumnCheck = (value) => {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  const json = typeof value === 'object' ? stringify(value) : undefined;
  return json ?? new Invalid(`value ${describeValue(value)} cannot be written as text`);
};

/** varchar(n): like text, and at most n characters (Unicode code points, as PostgreSQL counts them). */
export function compileVarcharCheck(type: string, maxLength: number): ColumnCheck {
  return (value) => {
    const text = checkText(value);
    if (typeof text !== 'string' || text.length <= maxLength) return text;
    const length = countCodePoints(text);
    if (length <= maxLength) return text;
    return new Invalid(`value ${describeValue(text)} is ${length} characters, longer than ${type} allows`);
  };
}

/** Unicode code points in a string (a surrogate pair counts once). */
export function countCodePoints(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

function stringify(value: object | null): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
