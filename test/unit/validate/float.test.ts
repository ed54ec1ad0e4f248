import { describe, expect, it } from 'vitest';
import { copyText } from './validate-one.js';

describe('real and double precision columns', () => {
  it('accepts finite numbers as text or JSON numbers', () => {
    expect(copyText('double precision', ' 1.5e3 ')).toBe('1.5e3');
    expect(copyText('double precision', '-.25')).toBe('-.25');
    expect(copyText('real', 0.1)).toBe('0.1');
    expect(copyText('double precision', '0')).toBe('0');
  });

  it('rejects NaN, Infinity and words', () => {
    for (const value of ['NaN', 'Infinity', '-Infinity', 'inf', 'abc', '0x10']) {
      expect(copyText('double precision', value)).toMatch(
        /is not a valid double precision \(a finite number is expected\)$/,
      );
    }
  });

  it('rejects values that overflow or underflow the type', () => {
    expect(copyText('double precision', '1e400')).toBe(
      'rejected: value "1e400" is out of range for double precision',
    );
    expect(copyText('double precision', '1e-400')).toMatch(/out of range/);
    expect(copyText('real', '1e39')).toBe('rejected: value "1e39" is out of range for real');
    expect(copyText('real', 1e-50)).toMatch(/out of range for real/);
    expect(copyText('double precision', '0.0e-400')).toBe('0.0e-400');
  });
});
