import { trimBlanks } from './calendar.js';
import { describeValue } from './describe-value.js';
import { type ColumnCheck, Invalid } from './invalid.js';

/**
 * Spellings PostgreSQL reads as true / false (compared lower-cased, blanks trimmed): boolin takes any
 * prefix of true/false/yes/no (`tr`, `fals`, `ye`), `on`, and `of`/`off`, as well as 1/0.
 */
export const BOOLEAN_WORDS: ReadonlyMap<string, boolean> = new Map([
  ...prefixes('true', 1).map((w) => [w, true] as const),
  ...prefixes('yes', 1).map((w) => [w, true] as const),
  ['1', true],
  ['on', true],
  ...prefixes('false', 1).map((w) => [w, false] as const),
  ...prefixes('no', 1).map((w) => [w, false] as const),
  ['0', false],
  ...prefixes('off', 2).map((w) => [w, false] as const),
]);

/** `true` → t, tr, tru, true (from `shortest` letters on). */
function prefixes(word: string, shortest: number): string[] {
  return Array.from({ length: word.length - shortest + 1 }, (_, i) => word.slice(0, shortest + i));
}

/** boolean: JSON booleans, 1/0, and true/false, t/f, yes/no, y/n, 1/0, on/off in any case → 't' / 'f'. */
export const checkBoolean: ColumnCheck = (value) => {
  let truth: boolean | undefined;
  if (typeof value === 'boolean') truth = value;
  else if (typeof value === 'string')
    truth = BOOLEAN_WORDS.get(value) ?? BOOLEAN_WORDS.get(trimBlanks(value).toLowerCase());
  else if (value === 1 || value === 0) truth = value === 1;
  if (truth === undefined) {
    return new Invalid(
      `value ${describeValue(value)} is not a valid boolean (true/false, t/f, yes/no, y/n, 1/0, on/off)`,
    );
  }
  return truth ? 't' : 'f';
};
