import { formatIsoDate, parseIsoDate } from './calendar.js';
import { describeValue } from './describe-value.js';
import { type ColumnCheck, Invalid } from './invalid.js';

/** date: `YYYY-MM-DD` only (cast other layouts first), a real calendar date in years 1-9999. */
export const checkDate: ColumnCheck = (value) => {
  if (typeof value !== 'string')
    return new Invalid(`value ${describeValue(value)} is not a date in the form YYYY-MM-DD`);
  const date = parseIsoDate(value);
  if (typeof date === 'string') return new Invalid(`value ${describeValue(value)} ${date}`);
  // Ten characters that parse are exactly YYYY-MM-DD already: the formatted text would equal them.
  return value.length === 10 ? value : formatIsoDate(date);
};
