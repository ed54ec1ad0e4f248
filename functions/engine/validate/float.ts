import { BLANK, trimBlanks } from './calendar.js';
import { describeValue } from './describe-value.js';
import { type ColumnCheck, Invalid } from './invalid.js';

export type FloatType = 'real' | 'double precision';

const FLOAT_TEXT = new RegExp(`^${BLANK}*[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?${BLANK}*$`);
const NONZERO_DIGIT = /[1-9]/;
const EXPONENT_MARK = /[eE]/;

/**
 * real, double precision: finite decimal numbers only (NaN and Infinity are rejected), range-checked the
 * way PostgreSQL does: a value that overflows, or that is not zero but underflows to zero, is rejected.
 */
export function compileFloatCheck(type: FloatType): ColumnCheck {
  const notNumber = ` is not a valid ${type} (a finite number is expected)`;
  const outOfRange = ` is out of range for ${type}`;
  const narrow = type === 'real' ? Math.fround : (n: number) => n;

  return (value) => {
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return new Invalid(`value ${describeValue(value)}${notNumber}`);
      const stored = narrow(value);
      if (!Number.isFinite(stored) || (stored === 0 && value !== 0)) {
        return new Invalid(`value ${describeValue(value)}${outOfRange}`);
      }
      return String(value);
    }
    if (typeof value !== 'string' || !FLOAT_TEXT.test(value)) {
      return new Invalid(`value ${describeValue(value)}${notNumber}`);
    }
    const stored = narrow(Number(value));
    if (!Number.isFinite(stored) || (stored === 0 && hasNonzeroMantissa(value))) {
      return new Invalid(`value ${describeValue(value)}${outOfRange}`);
    }
    return trimBlanks(value);
  };
}

/** Whether the digits before any exponent are not all zero, i.e. the value is not really 0. */
function hasNonzeroMantissa(text: string): boolean {
  const e = text.search(EXPONENT_MARK);
  return NONZERO_DIGIT.test(e === -1 ? text : text.slice(0, e));
}
