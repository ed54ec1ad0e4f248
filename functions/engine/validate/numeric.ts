import { BLANK } from './calendar.js';
import { describeValue } from './describe-value.js';
import { type ColumnCheck, Invalid } from './invalid.js';

const DECIMAL_TEXT = new RegExp(`^${BLANK}*([+-]?)(\\d*)(?:\\.(\\d*))?(?:[eE]([+-]?\\d+))?${BLANK}*$`);
/** PostgreSQL's own limits for an unconstrained numeric. */
const MAX_INTEGER_DIGITS = 131072;
const MAX_FRACTION_DIGITS = 16383;

/**
 * numeric, numeric(p), numeric(p,s): decimal text or finite numbers, worked on as digit strings so no
 * float rounding creeps in. Extra fraction digits are rounded half away from zero to the scale, as
 * PostgreSQL does; a value whose integer part needs more than p - s digits is rejected. NaN and
 * Infinity are rejected.
 * @example compileNumericCheck('numeric(5,2)', 5, 2)('1.005') // '1.01'
 */
export function compileNumericCheck(type: string, precision?: number, scale?: number): ColumnCheck {
  const notNumeric = ` is not a valid ${type}`;
  const outOfRange = ` is out of range for ${type}${precision === undefined ? '' : `: ${limitPhrase(precision, scale ?? 0)}`}`;
  const maxIntegerDigits = precision === undefined ? MAX_INTEGER_DIGITS : precision - (scale ?? 0);

  return (value) => {
    let text: string;
    if (typeof value === 'string') text = value;
    else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
    else if (typeof value === 'bigint') text = value.toString();
    else return new Invalid(`value ${describeValue(value)}${notNumeric}`);
    if (isCanonicalDecimal(text, maxIntegerDigits, scale)) return text;

    const m = DECIMAL_TEXT.exec(text);
    const written = m?.[2] ?? '';
    const writtenFraction = m?.[3] ?? '';
    if (!m || (written === '' && writtenFraction === ''))
      return new Invalid(`value ${describeValue(value)}${notNumeric}`);
    const exponent = m[4] === undefined ? 0 : Number(m[4]);
    if (Math.abs(exponent) > MAX_INTEGER_DIGITS) {
      return /[1-9]/.test(written + writtenFraction)
        ? new Invalid(`value ${describeValue(value)}${outOfRange}`)
        : zero(scale);
    }

    // Value = 0.<digits> × 10^point once leading zeros are gone.
    let digits = written + writtenFraction;
    let point = written.length + exponent;
    let lead = 0;
    while (lead < digits.length && digits.charCodeAt(lead) === 48) lead++;
    digits = digits.slice(lead);
    point -= lead;

    let integerPart: string;
    let fractionPart: string;
    if (point <= 0) {
      integerPart = '';
      fractionPart = '0'.repeat(-point) + digits;
    } else if (point >= digits.length) {
      integerPart = digits + '0'.repeat(point - digits.length);
      fractionPart = '';
    } else {
      integerPart = digits.slice(0, point);
      fractionPart = digits.slice(point);
    }

    if (scale !== undefined) {
      if (fractionPart.length > scale) {
        const roundUp = fractionPart.charCodeAt(scale) >= 53; // '5'
        fractionPart = fractionPart.slice(0, scale);
        if (roundUp) {
          const bumped = incrementDigits(integerPart + fractionPart);
          integerPart = bumped.slice(0, bumped.length - scale);
          fractionPart = bumped.slice(bumped.length - scale);
        }
      } else if (fractionPart.length < scale) {
        fractionPart = fractionPart.padEnd(scale, '0');
      }
    }

    integerPart = stripLeadingZeros(integerPart);
    if (
      !fitsIntegerDigits(integerPart, fractionPart, maxIntegerDigits) ||
      fractionPart.length > MAX_FRACTION_DIGITS
    ) {
      return new Invalid(`value ${describeValue(value)}${outOfRange}`);
    }
    const negative = m[1] === '-' && (integerPart !== '' || /[1-9]/.test(fractionPart));
    return `${negative ? '-' : ''}${integerPart || '0'}${fractionPart ? `.${fractionPart}` : ''}`;
  };
}

/**
 * Text that is already what the general path would write: unsigned, no leading zero (or a single `0`
 * before the point), an integer part that fits, and exactly `scale` fraction digits (any number
 * without a scale). The hot path of a load skips the regex and the digit arithmetic.
 */
function isCanonicalDecimal(text: string, maxIntegerDigits: number, scale: number | undefined): boolean {
  const n = text.length;
  if (n === 0 || n > 40) return false;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    i++;
  }
  const integerDigits = i;
  if (integerDigits === 0 || integerDigits > maxIntegerDigits) return false;
  if (text.charCodeAt(0) === 48 && integerDigits > 1) return false;
  if (i === n) return scale === undefined || scale === 0 ? text.charCodeAt(0) !== 48 || n === 1 : false;
  if (text.charCodeAt(i) !== 46) return false;
  const fractionDigits = n - i - 1;
  if (fractionDigits === 0 || (scale !== undefined && fractionDigits !== scale)) return false;
  for (let j = i + 1; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function limitPhrase(precision: number, scale: number): string {
  const maxIntegerDigits = precision - scale;
  if (maxIntegerDigits > 0) return `at most ${maxIntegerDigits} digits before the decimal point`;
  if (maxIntegerDigits === 0) return 'only values between -1 and 1 fit';
  return `the absolute value must be below 1e${maxIntegerDigits}`;
}

/** Whether |value| < 10^maxIntegerDigits, given the integer part without leading zeros. */
function fitsIntegerDigits(integerPart: string, fractionPart: string, maxIntegerDigits: number): boolean {
  if (maxIntegerDigits >= 0) return integerPart.length <= maxIntegerDigits;
  if (integerPart !== '') return false;
  for (let i = 0; i < -maxIntegerDigits && i < fractionPart.length; i++) {
    if (fractionPart.charCodeAt(i) !== 48) return false;
  }
  return true;
}

function stripLeadingZeros(digits: string): string {
  let i = 0;
  while (i < digits.length && digits.charCodeAt(i) === 48) i++;
  return i === 0 ? digits : digits.slice(i);
}

/** Adds one to a string of decimal digits ('' counts as 0): '0199' → '0200', '99' → '100'. */
function incrementDigits(digits: string): string {
  let i = digits.length - 1;
  while (i >= 0 && digits.charCodeAt(i) === 57) i--; // '9'
  if (i < 0) return `1${'0'.repeat(digits.length)}`;
  return `${digits.slice(0, i)}${digits.charCodeAt(i) - 47}${'0'.repeat(digits.length - i - 1)}`;
}

function zero(scale: number | undefined): string {
  return scale ? `0.${'0'.repeat(scale)}` : '0';
}
