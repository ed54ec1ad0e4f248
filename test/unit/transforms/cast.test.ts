import { describe, expect, it } from 'vitest';
import type { TransformSpec } from '../../../functions/engine/spec/schema.js';
import { TransformConfigError } from '../../../functions/engine/transforms/index.js';
import { runOne } from './run-transforms.js';

type Cast = Extract<TransformSpec, { cast: unknown }>['cast'];
const cast = (spec: Omit<Cast, 'column'>, value: unknown) =>
  runOne([{ cast: { column: 'v', ...spec } }], { v: value });
const castTo = (value: unknown) => ({ kind: 'row', row: { v: value } });

describe('cast to integer', () => {
  it('reads signed whole numbers and tolerates a zero fraction', () => {
    expect(cast({ to: 'integer' }, '42')).toEqual(castTo(42));
    expect(cast({ to: 'integer' }, ' -7 ')).toEqual(castTo(-7));
    expect(cast({ to: 'integer' }, '+3')).toEqual(castTo(3));
    expect(cast({ to: 'integer' }, '12.00')).toEqual(castTo(12));
    expect(cast({ to: 'integer' }, 17)).toEqual(castTo(17));
  });

  it('reads thousands separators in proper groups of three', () => {
    expect(cast({ to: 'integer', thousands: ',' }, '1,234,567')).toEqual(castTo(1234567));
    expect(cast({ to: 'integer', thousands: ',' }, '12,34')).toMatchObject({ kind: 'rejected' });
  });

  it('keeps every digit of a value beyond 15 digits as text', () => {
    expect(cast({ to: 'integer' }, '9223372036854775807')).toEqual(castTo('9223372036854775807'));
  });

  it('rejects a fraction, naming the value', () => {
    expect(cast({ to: 'integer' }, '4.5')).toEqual({
      kind: 'rejected',
      column: 'v',
      reason: 'cannot cast "4.5" to integer',
    });
    expect(cast({ to: 'integer' }, 4.5)).toEqual({
      kind: 'rejected',
      column: 'v',
      reason: 'cannot cast 4.5 to integer',
    });
  });
});

describe('cast to number', () => {
  it('reads European separators', () => {
    const outcome = cast({ to: 'number', decimal: ',', thousands: '.' }, '1.234,56');

    expect(outcome).toEqual(castTo(1234.56));
  });

  it('reads plain decimals and exponents', () => {
    expect(cast({ to: 'number' }, '-0.5')).toEqual(castTo(-0.5));
    expect(cast({ to: 'number' }, '.25')).toEqual(castTo(0.25));
    expect(cast({ to: 'number' }, '1.5e3')).toEqual(castTo(1500));
  });

  it('keeps more digits than a double holds as exact decimal text', () => {
    expect(cast({ to: 'number' }, '12345678901234567.89')).toEqual(castTo('12345678901234567.89'));
  });

  it('rejects text and names the separators in the reason', () => {
    const outcome = cast({ to: 'number', decimal: ',', thousands: '.' }, '1,2,3');

    expect(outcome).toEqual({
      kind: 'rejected',
      column: 'v',
      reason: 'cannot cast "1,2,3" to number with decimal "," and thousands "."',
    });
  });

  it('rejects NaN and Infinity spelled out', () => {
    expect(cast({ to: 'number' }, 'NaN')).toMatchObject({ kind: 'rejected' });
    expect(cast({ to: 'number' }, 'Infinity')).toMatchObject({ kind: 'rejected' });
  });

  it('fails when the thousands separator equals the decimal one', () => {
    expect(() => cast({ to: 'number', thousands: '.' }, '1')).toThrow(
      'transforms[0].cast.thousands: must differ from the decimal separator "."',
    );
  });
});

describe('cast to boolean', () => {
  it('reads the default spellings in any case', () => {
    for (const yes of ['true', 'T', 'Yes', 'y', '1', true, 1])
      expect(cast({ to: 'boolean' }, yes)).toEqual(castTo(true));
    for (const no of ['FALSE', 'f', 'no', 'N', '0', false, 0])
      expect(cast({ to: 'boolean' }, no)).toEqual(castTo(false));
  });

  it('reads custom spellings instead of the defaults', () => {
    const spec = { to: 'boolean' as const, trueValues: ['Ja'], falseValues: ['Nein'] };

    expect(cast(spec, 'JA')).toEqual(castTo(true));
    expect(cast(spec, 'nein')).toEqual(castTo(false));
    expect(cast(spec, 'yes')).toEqual({
      kind: 'rejected',
      column: 'v',
      reason: 'cannot cast "yes" to boolean',
    });
  });

  it('fails when a spelling is both true and false', () => {
    expect(() => cast({ to: 'boolean', trueValues: ['x'], falseValues: ['X'] }, 'x')).toThrow(
      TransformConfigError,
    );
  });
});

describe('cast to date', () => {
  it('reads a formatted date as YYYY-MM-DD', () => {
    expect(cast({ to: 'date', format: 'dd/MM/yyyy' }, '29/02/2024')).toEqual(castTo('2024-02-29'));
    expect(cast({ to: 'date', format: 'MMM d, yyyy' }, 'Mar 7, 2026')).toEqual(castTo('2026-03-07'));
  });

  it('rejects an impossible date with the value and the format', () => {
    const outcome = cast({ to: 'date', format: 'dd/MM/yyyy' }, '31/02/2026');

    expect(outcome).toEqual({
      kind: 'rejected',
      column: 'v',
      reason: 'cannot cast "31/02/2026" to date with format dd/MM/yyyy',
    });
  });

  it('rejects values that do not match the format exactly (short years, missing zeros, trailing text)', () => {
    for (const value of ['01/02/26', '1/2/2026', '01/02/2026 extra', '29/02/2026']) {
      expect(cast({ to: 'date', format: 'dd/MM/yyyy' }, value)).toMatchObject({
        kind: 'rejected',
        column: 'v',
      });
    }
  });

  it('reads single-letter tokens as numbers without leading zeros, as date-fns formats them', () => {
    expect(cast({ to: 'date', format: 'd/M/yyyy' }, '1/2/2026')).toEqual(castTo('2026-02-01'));
    expect(cast({ to: 'date', format: 'd/M/yyyy' }, '01/02/2026')).toMatchObject({ kind: 'rejected' });
    expect(cast({ to: 'date', format: 'yyyyMMdd' }, '20260131')).toEqual(castTo('2026-01-31'));
    expect(cast({ to: 'date', format: "dd 'de' MM yyyy" }, '07 de 03 2026')).toEqual(castTo('2026-03-07'));
  });

  it('reads ISO dates and timestamps without a format', () => {
    expect(cast({ to: 'date' }, '2026-03-07')).toEqual(castTo('2026-03-07'));
    expect(cast({ to: 'date' }, '2026-03-07T23:30:00-02:00')).toEqual(castTo('2026-03-08'));
    expect(cast({ to: 'date' }, '2026-02-30')).toEqual({
      kind: 'rejected',
      column: 'v',
      reason: 'cannot cast "2026-02-30" to date',
    });
  });

  it('turns empty and blank values into null instead of rejecting them', () => {
    expect(cast({ to: 'date', format: 'dd/MM/yyyy' }, '')).toEqual(castTo(null));
    expect(cast({ to: 'date', format: 'dd/MM/yyyy' }, '   ')).toEqual(castTo(null));
    expect(cast({ to: 'date', format: 'dd/MM/yyyy' }, null)).toEqual(castTo(null));
  });

  it('cuts a very long value short in the reason', () => {
    const outcome = cast({ to: 'date' }, 'x'.repeat(500));

    expect(outcome.kind === 'rejected' && outcome.reason.length).toBeLessThan(120);
  });

  it('fails at compile time on a format date-fns cannot use, naming the transform', () => {
    expect(() => cast({ to: 'date', format: 'dd/MM/yyyy fo' }, '01/01/2026')).toThrow(
      /^transforms\[0\]\.cast\.format: invalid date format "dd\/MM\/yyyy fo"/,
    );
  });

  it('fails when a format is given for a type that has none', () => {
    expect(() => cast({ to: 'integer', format: 'dd' }, '1')).toThrow(
      'transforms[0].cast.format: only applies to a cast to date or timestamp, not to integer',
    );
  });
});

describe('cast to timestamp', () => {
  it('reads a formatted wall-clock time without an offset', () => {
    const outcome = cast({ to: 'timestamp', format: 'MM/dd/yyyy HH:mm' }, '12/31/2026 23:59');

    expect(outcome).toEqual(castTo('2026-12-31T23:59:00'));
  });

  it('converts a formatted time with an offset to UTC', () => {
    const outcome = cast(
      { to: 'timestamp', format: "yyyy-MM-dd'T'HH:mm:ssXXX" },
      '2026-01-01T01:00:00+02:00',
    );

    expect(outcome).toEqual(castTo('2025-12-31T23:00:00Z'));
  });

  it('keeps a wall-clock time that a daylight-saving change skips in the machine zone', () => {
    // 02:30 on 2026-03-29 does not exist in Europe/Berlin; Lambda runs in UTC, a laptop may not.
    const zone = process.env.TZ;
    process.env.TZ = 'Europe/Berlin';
    try {
      const numeric = cast({ to: 'timestamp', format: 'yyyy-MM-dd HH:mm' }, '2026-03-29 02:30');
      const named = cast({ to: 'timestamp', format: 'MMM d, yyyy HH:mm' }, 'Mar 29, 2026 02:30');

      expect(numeric).toEqual(castTo('2026-03-29T02:30:00'));
      expect(named).toEqual(castTo('2026-03-29T02:30:00'));
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('reads milliseconds and quoted literals in a format', () => {
    const outcome = cast({ to: 'timestamp', format: "yyyy-MM-dd'T'HH:mm:ss.SSS" }, '2026-01-02T03:04:05.070');

    expect(outcome).toEqual(castTo('2026-01-02T03:04:05.070'));
  });

  it('reads ISO 8601 without a format, keeping microseconds', () => {
    expect(cast({ to: 'timestamp' }, '2026-01-02 03:04:05.123456')).toEqual(
      castTo('2026-01-02T03:04:05.123456'),
    );
    expect(cast({ to: 'timestamp' }, '2026-01-02T03:04:05+01:00')).toEqual(castTo('2026-01-02T02:04:05Z'));
  });

  it('rejects an impossible time', () => {
    const outcome = cast({ to: 'timestamp', format: 'MM/dd/yyyy HH:mm' }, '12/31/2026 25:00');

    expect(outcome).toEqual({
      kind: 'rejected',
      column: 'v',
      reason: 'cannot cast "12/31/2026 25:00" to timestamp with format MM/dd/yyyy HH:mm',
    });
  });
});

describe('cast to text', () => {
  it('writes numbers, booleans and objects as text', () => {
    expect(cast({ to: 'text' }, 42)).toEqual(castTo('42'));
    expect(cast({ to: 'text' }, false)).toEqual(castTo('false'));
    expect(cast({ to: 'text' }, { a: [1] })).toEqual(castTo('{"a":[1]}'));
  });
});

describe('cast of a missing column', () => {
  it('leaves the row as it is', () => {
    const outcome = runOne([{ cast: { column: 'absent', to: 'integer' } }], { id: '1' });

    expect(outcome).toEqual({ kind: 'row', row: { id: '1' } });
  });
});
