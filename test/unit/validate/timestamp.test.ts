import { describe, expect, it } from 'vitest';
import { copyText } from './validate-one.js';

describe('timestamp columns', () => {
  it('accepts ISO 8601 with a space or T, optional seconds and fraction', () => {
    expect(copyText('timestamp', '2026-01-02 03:04:05')).toBe('2026-01-02 03:04:05');
    expect(copyText('timestamp', '2026-01-02T03:04:05.123456')).toBe('2026-01-02 03:04:05.123456');
    expect(copyText('timestamp', '2026-01-02T03:04')).toBe('2026-01-02 03:04:00');
    expect(copyText('timestamp', '2026-01-02')).toBe('2026-01-02 00:00:00');
  });

  it('converts a value with an offset to UTC instead of letting PostgreSQL drop the offset', () => {
    expect(copyText('timestamp', '2026-01-01T01:30:00+02:00')).toBe('2025-12-31 23:30:00');
    expect(copyText('timestamp', '2026-12-31T23:00:00-0130')).toBe('2027-01-01 00:30:00');
    expect(copyText('timestamp', '2024-02-28T23:00:00-01')).toBe('2024-02-29 00:00:00');
    expect(copyText('timestamp', '2026-01-02T03:04:05.5Z')).toBe('2026-01-02 03:04:05.5');
  });

  it('rejects impossible dates and times', () => {
    expect(copyText('timestamp', '2026-02-29 10:00:00')).toBe(
      'rejected: value "2026-02-29 10:00:00" is not a real date: February 2026 has 28 days',
    );
    expect(copyText('timestamp', '2026-01-01 24:00:00')).toBe(
      'rejected: value "2026-01-01 24:00:00" is not a real time: hour 24 does not exist',
    );
    expect(copyText('timestamp', '2026-01-01 10:60:00')).toMatch(/minute 60 does not exist/);
    expect(copyText('timestamp', '2026-01-01 10:00:61')).toMatch(/second 61 does not exist/);
    expect(copyText('timestamp', '2026-01-01 10:00:00+16:00')).toMatch(/has an impossible offset \+16:00$/);
  });

  it('rejects values that are not ISO 8601', () => {
    for (const value of ['01/02/2026 10:00', '2026-01-02 3:04', '\u00a02026-01-02', 1767225600000]) {
      expect(copyText('timestamp', value)).toMatch(/is not an ISO 8601 timestamp/);
    }
  });

  it('rounds 7+ fraction digits to microseconds as PostgreSQL does, carrying into the next day', () => {
    expect(copyText('timestamp', '2026-01-01 10:00:00.1234565')).toBe('2026-01-01 10:00:00.123456');
    expect(copyText('timestamp', '2026-01-01 10:00:00.123456789')).toBe('2026-01-01 10:00:00.123457');
    expect(copyText('timestamp', '0099-12-31 23:59:59.9999996')).toBe('0100-01-01 00:00:00');
  });

  it('fails when PostgreSQL would read the text but Sluice does not store it, saying why', () => {
    expect(copyText('timestamp', '2026-01-01 10:00:00 BC')).toMatch(
      /is a BC date: Sluice stores years 1-9999 AD only$/,
    );
    expect(copyText('timestamptz', '-infinity')).toMatch(/Sluice stores years 1-9999, not -infinity$/);
    expect(copyText('timestamp', 'yesterday')).toMatch(/"yesterday" depends on the clock/);
    expect(copyText('timestamp', '12026-01-01 10:00:00')).toMatch(/has a five-digit year/);
    expect(copyText('timestamp', '9999-12-31 23:59:59.9999999')).toMatch(
      /out of range for timestamp: year 10000/,
    );
  });
});

describe('timestamptz columns', () => {
  it('writes an explicit UTC offset, so the session time zone never shifts a value without one', () => {
    expect(copyText('timestamptz', '2026-01-02 03:04:05')).toBe('2026-01-02 03:04:05+00');
    expect(copyText('timestamptz', '2026-01-02T03:04:05+05:30')).toBe('2026-01-01 21:34:05+00');
  });

  it('rejects a value that leaves years 1-9999 in UTC', () => {
    expect(copyText('timestamptz', '9999-12-31T23:30:00-01:00')).toBe(
      'rejected: value "9999-12-31T23:30:00-01:00" is out of range for timestamptz: year 10000 in UTC',
    );
  });
});
