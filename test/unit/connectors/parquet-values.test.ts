import { describe, expect, it } from 'vitest';
import { decimalText, isoDate, timestampText } from '../../../functions/connectors/parquet/values.js';

describe('exact Parquet values', () => {
  it('writes a DECIMAL from each physical encoding exactly, to 38 digits and beyond', () => {
    expect(decimalText(1234, 2)).toBe('12.34'); // INT32
    expect(decimalText(-5, 3)).toBe('-0.005');
    expect(decimalText(123456789012345678n, 4)).toBe('12345678901234.5678'); // INT64
    // FIXED_LEN_BYTE_ARRAY / BYTE_ARRAY: big-endian two's complement.
    const big = 12_345_678_901_234_567_891n;
    const bytes = Uint8Array.from(big.toString(16).padStart(32, '0').match(/../g)!, (h) =>
      Number.parseInt(h, 16),
    );
    expect(decimalText(bytes, 2)).toBe('123456789012345678.91');
    expect(decimalText(Uint8Array.of(0xff, 0xff), 2)).toBe('-0.01');
    expect(decimalText(Uint8Array.of(0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0)).toBe(
      (-(2n ** 127n)).toString(),
    );
    expect(decimalText(12n, -3)).toBe('12000');
    expect(decimalText(0, 2)).toBe('0.00');
  });

  it('writes timestamps to the unit of the file, before 1970 and in early years too', () => {
    expect(timestampText(1_767_323_045_123_456_789n, 9)).toBe('2026-01-02 03:04:05.123456789');
    expect(timestampText(1_767_323_045_123_456_000n, 6)).toBe('2026-01-02 03:04:05.123456');
    expect(timestampText(1_767_323_045_100_000_000n, 3)).toBe('2026-01-02 03:04:05.1');
    expect(timestampText(-1_000n, 6)).toBe('1969-12-31 23:59:59.999999');
    expect(timestampText(-62_135_596_800_000_000_000n, 6)).toBe('0001-01-01 00:00:00');
  });

  it('writes a DATE as YYYY-MM-DD, never through Date (which maps years 0-99 to 19xx)', () => {
    expect(isoDate(20_455)).toBe('2026-01-02');
    expect(isoDate(-683_034)).toBe('0099-12-01');
    expect(isoDate(-719_528)).toBe('0000-01-01');
  });
});
