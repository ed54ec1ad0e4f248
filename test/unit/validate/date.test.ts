import { describe, expect, it } from 'vitest';
import { copyText } from './validate-one.js';

describe('date columns', () => {
  it('accepts real calendar dates in YYYY-MM-DD', () => {
    expect(copyText('date', '2026-02-28')).toBe('2026-02-28');
    expect(copyText('date', '2024-02-29')).toBe('2024-02-29');
    expect(copyText('date', '2000-02-29')).toBe('2000-02-29');
    expect(copyText('date', '0001-01-01')).toBe('0001-01-01');
    expect(copyText('date', '9999-12-31')).toBe('9999-12-31');
  });

  it('rejects impossible dates, saying why', () => {
    expect(copyText('date', '2026-02-30')).toBe(
      'rejected: value "2026-02-30" is not a real date: February 2026 has 28 days',
    );
    expect(copyText('date', '1900-02-29')).toBe(
      'rejected: value "1900-02-29" is not a real date: February 1900 has 28 days',
    );
    expect(copyText('date', '2026-04-31')).toBe(
      'rejected: value "2026-04-31" is not a real date: April 2026 has 30 days',
    );
    expect(copyText('date', '2026-13-01')).toBe(
      'rejected: value "2026-13-01" is not a real date: month 13 does not exist',
    );
    expect(copyText('date', '0000-01-01')).toBe(
      'rejected: value "0000-01-01" is not a real date: year 0 is outside 1-9999',
    );
  });

  it('rejects other layouts (cast them first)', () => {
    for (const value of ['28/02/2026', '2026-2-28', '2026-02-28T00:00:00', 20260228]) {
      expect(copyText('date', value)).toMatch(/is not a date in the form YYYY-MM-DD$/);
    }
  });
});
