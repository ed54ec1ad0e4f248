import { describe, expect, it } from 'vitest';
import { copyText } from './validate-one.js';

describe('numeric columns', () => {
  it('writes the value with exactly the column scale', () => {
    expect(copyText('numeric(12,2)', '1234.5')).toBe('1234.50');
    expect(copyText('numeric(12,2)', '-0.1')).toBe('-0.10');
    expect(copyText('numeric(12,2)', 7)).toBe('7.00');
    expect(copyText('numeric(12, 2)', '.5')).toBe('0.50');
  });

  it('rounds extra fraction digits half away from zero, like PostgreSQL, on the digits themselves', () => {
    expect(copyText('numeric(12,2)', '1.005')).toBe('1.01');
    expect(copyText('numeric(12,2)', '-1.005')).toBe('-1.01');
    expect(copyText('numeric(12,2)', '1.004999')).toBe('1.00');
    expect(copyText('numeric(12,2)', 1.005)).toBe('1.01');
    expect(copyText('numeric(12,2)', '-0.001')).toBe('0.00');
    expect(copyText('numeric(5)', '2.5')).toBe('3');
  });

  it('rejects a value with too many digits before the decimal point, also after rounding', () => {
    expect(copyText('numeric(5,2)', '999.99')).toBe('999.99');
    expect(copyText('numeric(5,2)', '1000')).toBe(
      'rejected: value "1000" is out of range for numeric(5,2): at most 3 digits before the decimal point',
    );
    expect(copyText('numeric(5,2)', '999.995')).toMatch(/^rejected: value "999.995" is out of range/);
  });

  it('handles a scale larger than the precision', () => {
    expect(copyText('numeric(2,3)', '0.012')).toBe('0.012');
    expect(copyText('numeric(2,3)', '0.12')).toMatch(/out of range for numeric\(2,3\)/);
  });

  it('reads exponents without float rounding', () => {
    expect(copyText('numeric(20,4)', '1.23456789e3')).toBe('1234.5679');
    expect(copyText('numeric', '12345678901234567890.123456789')).toBe('12345678901234567890.123456789');
    expect(copyText('numeric', '1e-3')).toBe('0.001');
    expect(copyText('numeric', '-00012.50')).toBe('-12.50');
  });

  it('rejects NaN, Infinity and text', () => {
    for (const value of ['NaN', 'Infinity', '-inf', 'abc', '1.2.3', '.', '1,5']) {
      expect(copyText('numeric(12,2)', value)).toMatch(/is not a valid numeric\(12,2\)$/);
    }
  });

  it('rejects an absurd exponent instead of expanding it', () => {
    expect(copyText('numeric', '1e999999999')).toMatch(/out of range for numeric$/);
  });
});
