import { describeValue } from './describe-value.js';
import { type ColumnCheck, Invalid } from './invalid.js';

/** Spellings PostgreSQL reads as true / false (compared lower-cased, blanks trimmed). */
export const BOOLEAN_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['t', true],
  ['yes', true],
  ['y', true],
  ['1', true],
  ['on', true],
  ['false', false],
  ['f', false],
  ['no', false],
  ['n', false],
  ['0', false],
  ['off', false],
]);

/** boolean: JSON booleans, 1/0, and true/false, t/f, yes/no, y/n, 1/0, on/off in any case → 't' / 'f'. */
export const checkBoolean: ColumnCheck = (value) => {
  let truth: boolean | undefined;
  if (typeof value === 'boolean') truth = value;
  else if (typeof value === 'string')
    truth = BOOLEAN_WORDS.get(value) ?? BOOLEAN_WORDS.get(value.trim().toLowerCase());
  else if (value === 1 || value === 0) truth = value === 1;
  if (truth === undefined) {
    return new Invalid(
      `value ${describeValue(value)} is not a valid boolean (true/false, t/f, yes/no, y/n, 1/0, on/off)`,
    );
  }
  return truth ? 't' : 'f';
};
