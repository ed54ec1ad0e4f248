import { describe, expect, it } from 'vitest';
import { copyText, validateValue } from './validate-one.js';

describe('integer columns', () => {
  it('accepts whole numbers written as text or JSON numbers', () => {
    expect(copyText('integer', '42')).toBe('42');
    expect(copyText('integer', '-7')).toBe('-7');
    expect(copyText('integer', '+3')).toBe('3');
    expect(copyText('integer', ' 007 ')).toBe('7');
    expect(copyText('integer', '-0')).toBe('0');
    expect(copyText('integer', 12)).toBe('12');
  });

  it('rejects fractions, exponents and words', () => {
    for (const value of ['4.5', '1e3', 'abc', '', ' ', '4 2', 4.5, true]) {
      const outcome = validateValue('integer', value);
      if (value === '') expect(outcome).toEqual({ ok: true, values: [null] });
      else expect(outcome).toMatchObject({ ok: false, column: 'v' });
    }
    expect(validateValue('integer', '4.5')).toEqual({
      ok: false,
      column: 'v',
      reason: 'value "4.5" is not a valid integer (a whole number is expected)',
    });
  });

  it('checks the range of each integer type', () => {
    expect(copyText('smallint', '32767')).toBe('32767');
    expect(copyText('smallint', '-32768')).toBe('-32768');
    expect(copyText('smallint', '32768')).toBe('rejected: value "32768" is out of range for smallint');
    expect(copyText('integer', '2147483647')).toBe('2147483647');
    expect(copyText('integer', '3000000000')).toBe(
      'rejected: value "3000000000" is out of range for integer',
    );
    expect(copyText('integer', 3000000000)).toBe('rejected: value 3000000000 is out of range for integer');
  });

  it('checks bigint limits digit by digit, beyond what a double holds', () => {
    expect(copyText('bigint', '9223372036854775807')).toBe('9223372036854775807');
    expect(copyText('bigint', '-9223372036854775808')).toBe('-9223372036854775808');
    expect(copyText('bigint', '9223372036854775808')).toBe(
      'rejected: value "9223372036854775808" is out of range for bigint',
    );
    expect(copyText('bigint', '-9223372036854775809')).toMatch(/out of range for bigint/);
    expect(copyText('bigint', '00000000000000000000001')).toBe('1');
    expect(copyText('bigint', 2 ** 62)).toBe('4611686018427387904');
    expect(copyText('bigint', 2 ** 63)).toMatch(/out of range for bigint/);
  });
});
