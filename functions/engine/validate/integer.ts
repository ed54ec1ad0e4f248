import { BLANK } from './calendar.js';
import { describeValue } from './describe-value.js';
import { type ColumnCheck, Invalid } from './invalid.js';

export type IntegerType = 'smallint' | 'integer' | 'bigint';

const INTEGER_TEXT = new RegExp(`^${BLANK}*([+-]?)0*(\\d+)${BLANK}*$`);
const BIGINT_MAX = '9223372036854775807';
const BIGINT_MIN_ABS = '9223372036854775808';
const LIMITS: Record<Exclude<IntegerType, 'bigint'>, [number, number]> = {
  smallint: [-32768, 32767],
  integer: [-2147483648, 2147483647],
};

/**
 * smallint, integer, bigint: whole numbers only (`42`, `-7`, `+3`, `007`; not `4.5`, `1e3`), range-checked
 * for the type. bigint is compared as digits, so values beyond 2^53 keep every digit.
 */
export function compileIntegerCheck(type: IntegerType): ColumnCheck {
  const notInteger = ` is not a valid ${type} (a whole number is expected)`;
  const outOfRange = ` is out of range for ${type}`;
  const fits = type === 'bigint' ? bigintDigitsFit : smallDigitsFit(LIMITS[type][0], LIMITS[type][1]);

  // Up to this many digits, without sign or leading zero, always fit the type and are their own
  // canonical text: the hot path skips the regex.
  const safeDigits = type === 'smallint' ? 4 : 9;

  return (value) => {
    if (typeof value === 'string') {
      if (isPlainDigits(value, safeDigits)) return value;
      const m = INTEGER_TEXT.exec(value);
      if (!m) return new Invalid(`value ${describeValue(value)}${notInteger}`);
      const negative = m[1] === '-' && m[2] !== '0';
      const digits = m[2]!;
      if (!fits(negative, digits)) return new Invalid(`value ${describeValue(value)}${outOfRange}`);
      return negative ? `-${digits}` : digits;
    }
    if (typeof value === 'number') {
      if (!Number.isInteger(value)) return new Invalid(`value ${describeValue(value)}${notInteger}`);
      if (Number.isSafeInteger(value)) {
        const digits = String(Math.abs(value));
        if (!fits(value < 0, digits)) return new Invalid(`value ${describeValue(value)}${outOfRange}`);
        return String(value);
      }
      // Beyond 2^53: only bigint can hold it, and String() would switch to exponent form above 1e21.
      if (type !== 'bigint' || value >= 2 ** 63 || value < -(2 ** 63)) {
        return new Invalid(`value ${describeValue(value)}${outOfRange}`);
      }
      return BigInt(value).toString();
    }
    if (typeof value === 'bigint') {
      const text = value.toString();
      const negative = value < 0n;
      if (!fits(negative, negative ? text.slice(1) : text)) return new Invalid(`value ${text}${outOfRange}`);
      return text;
    }
    return new Invalid(`value ${describeValue(value)}${notInteger}`);
  };
}

/** `0`, or 1..max ASCII digits not starting with 0. */
function isPlainDigits(text: string, max: number): boolean {
  const n = text.length;
  if (n === 0 || n > max) return false;
  const first = text.charCodeAt(0);
  if (first < 49 || first > 57) return n === 1 && first === 48;
  for (let i = 1; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function smallDigitsFit(min: number, max: number): (negative: boolean, digits: string) => boolean {
  return (negative, digits) => {
    if (digits.length > 10) return false;
    const n = negative ? -Number(digits) : Number(digits);
    return n >= min && n <= max;
  };
}

function bigintDigitsFit(negative: boolean, digits: string): boolean {
  if (digits.length !== 19) return digits.length < 19;
  // Same length: digit strings compare like the numbers they spell.
  return digits <= (negative ? BIGINT_MIN_ABS : BIGINT_MAX);
}
