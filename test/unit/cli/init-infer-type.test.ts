import { describe, expect, it } from 'vitest';
import { inferColumnType } from '../../../bin/cli/init/infer-type.js';
import { compileColumnCheck } from '../../../functions/engine/validate/column-check.js';
import { Invalid } from '../../../functions/engine/validate/invalid.js';

/** The inferred type, cast and note only (the rest is asserted where it matters). */
const typeOf = (values: unknown[]) => {
  const { type, cast, note } = inferColumnType(values);
  return { type, ...(cast ? { cast } : {}), ...(note ? { note } : {}) };
};

describe('inferColumnType (sluice init)', () => {
  it('keeps codes with leading zeros as text (zip codes), with a note', () => {
    expect(typeOf(['01234', '12345', '00501'])).toEqual({
      type: 'text',
      note: 'leading zeros (a code, not a number): kept as text',
    });
    expect(typeOf(['007.5', '1.5']).type).toBe('text');
  });

  it('reads 0 and negative numbers as integers, not as codes', () => {
    expect(typeOf(['0', '-7', '+3', '10'])).toEqual({ type: 'integer' });
  });

  it('puts integers at the 2^31 boundary on the right side of integer and bigint', () => {
    expect(typeOf(['2147483647', '-2147483648'])).toEqual({ type: 'integer' });
    expect(typeOf(['2147483648'])).toEqual({ type: 'bigint' });
    expect(typeOf(['-2147483649'])).toEqual({ type: 'bigint' });
  });

  it('puts integers at the 2^63 boundary on the right side of bigint and numeric', () => {
    expect(typeOf(['9223372036854775807', '-9223372036854775808'])).toEqual({ type: 'bigint' });
    expect(typeOf(['9223372036854775808'])).toEqual({ type: 'numeric(19,0)' });
    expect(typeOf(['-9223372036854775809', '1'])).toEqual({ type: 'numeric(19,0)' });
  });

  it('gives mixed integers and decimals a numeric with the largest scale seen', () => {
    expect(typeOf(['3', '12.5', '1234.125'])).toEqual({ type: 'numeric(18,3)' });
    expect(typeOf(['.5', '-0.25'])).toEqual({ type: 'numeric(18,2)' });
  });

  it('widens the precision past 18 when a value needs it, exactly', () => {
    expect(typeOf(['123456789012345678.91'])).toEqual({ type: 'numeric(20,2)' });
    expect(typeOf(['12345678901234567890123456789012345678'])).toEqual({ type: 'numeric(38,0)' });
  });

  it('reads numbers with exponents as numeric without a fixed scale', () => {
    expect(typeOf(['1e3', '2.5E-7', '4']).type).toBe('numeric');
  });

  it('makes a column nullable when a value is blank, empty or null, and only then', () => {
    expect(inferColumnType(['1', '', '3'])).toMatchObject({ type: 'integer', nullable: true, present: 2 });
    expect(inferColumnType(['1', '   ', '3'])).toMatchObject({ nullable: true });
    expect(inferColumnType([1, null, undefined])).toMatchObject({ nullable: true, present: 1 });
    expect(inferColumnType(['1', '2'])).toMatchObject({ nullable: false, distinct: true });
  });

  it('says text and nullable for a column without any value', () => {
    expect(inferColumnType(['', null])).toMatchObject({ type: 'text', nullable: true, present: 0 });
  });

  it('reports whether the non-null values are distinct (a key candidate)', () => {
    expect(inferColumnType(['1', '2', '2']).distinct).toBe(false);
    expect(inferColumnType(['1', '2', '']).distinct).toBe(true);
  });

  it('reads boolean words in any case, but leaves 1/0 to the integers', () => {
    expect(typeOf(['yes', 'No', 'TRUE', 'f', 'y'])).toEqual({ type: 'boolean' });
    expect(typeOf([true, false])).toEqual({ type: 'boolean' });
    expect(typeOf(['1', '0'])).toEqual({ type: 'integer' });
  });

  it('reads ISO dates as date, and refuses impossible ones', () => {
    expect(typeOf(['2026-01-31', '2024-02-29'])).toEqual({ type: 'date' });
    expect(typeOf(['2026-02-29']).type).toBe('text');
  });

  it('reads ISO timestamps without an offset as timestamp (dates among them mean midnight)', () => {
    expect(typeOf(['2026-01-31 10:00:00', '2026-01-31T10:00:00.123456', '2026-02-01'])).toEqual({
      type: 'timestamp',
    });
  });

  it('reads ISO timestamps that all carry an offset as timestamptz', () => {
    expect(typeOf(['2026-01-31T10:00:00Z', '2026-01-31 10:00:00+02:00'])).toEqual({ type: 'timestamptz' });
  });

  it('keeps timestamps with and without an offset as text rather than guessing a zone', () => {
    expect(typeOf(['2026-01-31T10:00:00Z', '2026-01-31 10:00:00']).type).toBe('text');
  });

  it('finds the date format of day-first dates, with the cast that reads them', () => {
    expect(typeOf(['31/01/2026', '01/02/2026'])).toEqual({
      type: 'date',
      cast: { to: 'date', format: 'dd/MM/yyyy' },
    });
    expect(typeOf(['31.1.2026', '1.12.2026'])).toEqual({
      type: 'date',
      cast: { to: 'date', format: 'd.M.yyyy' },
    });
  });

  it('finds the format of month-first dates with a time', () => {
    expect(typeOf(['01/31/2026 14:05:09', '12/01/2026 09:00:00'])).toEqual({
      type: 'timestamp',
      cast: { to: 'timestamp', format: 'MM/dd/yyyy HH:mm:ss' },
    });
  });

  it('finds year-first layouts other than ISO', () => {
    expect(typeOf(['2026/01/31', '2026/12/01'])).toEqual({
      type: 'date',
      cast: { to: 'date', format: 'yyyy/MM/dd' },
    });
  });

  it('keeps dates whose day and month cannot be told apart as text, saying so', () => {
    const inferred = typeOf(['01/02/2026', '03/04/2026']);
    expect(inferred.type).toBe('text');
    expect(inferred.note).toContain('day and month are both 12 or less');
  });

  it('keeps dates written with and without leading zeros as text (no one format reads both)', () => {
    expect(typeOf(['31/01/2026', '31/1/2026']).type).toBe('text');
  });

  it('keeps a formatted date that is not a real date as text', () => {
    expect(typeOf(['31/02/2026', '15/01/2026']).type).toBe('text');
  });

  it('reads JSON objects and arrays as jsonb, from text or from JSON values', () => {
    expect(typeOf(['{"a": 1}', '[1, 2]'])).toEqual({ type: 'jsonb' });
    expect(typeOf([{ a: 1 }, [1]])).toEqual({ type: 'jsonb' });
    expect(typeOf(['{not json}']).type).toBe('text');
  });

  it('reads uuids as uuid', () => {
    expect(typeOf(['0b7e2a0e-3f5c-4d1a-9c1e-5a3f2b1c0d9e'])).toEqual({ type: 'uuid' });
  });

  it('makes mixed kinds text', () => {
    expect(typeOf(['1', 'abc'])).toEqual({ type: 'text' });
    expect(typeOf(['2026-01-31', '12'])).toEqual({ type: 'text' });
    expect(typeOf([1, 'x']).type).toBe('text');
    expect(typeOf([{ a: 1 }, 2]).type).toBe('text');
  });

  it('reads JSON numbers like their text: integers by range, fractions as numeric', () => {
    expect(typeOf([1, 2, 3])).toEqual({ type: 'integer' });
    expect(typeOf([1, 2.25])).toEqual({ type: 'numeric(18,2)' });
    expect(typeOf([2 ** 40])).toEqual({ type: 'bigint' });
  });

  it('infers only types whose validator accepts every sampled value as it is (or after the cast)', () => {
    const samples: unknown[][] = [
      ['0', '-7', '2147483647'],
      ['9223372036854775807'],
      ['3', '12.5', '1234.125', '-0.001'],
      ['yes', 'No', 'T'],
      ['2026-01-31', '2024-02-29'],
      ['2026-01-31 10:00:00', '2026-01-31T10:00:00.123456'],
      ['2026-01-31T10:00:00Z', '2026-01-31 10:00:00+02:00'],
      ['{"a": 1}', '[1, 2]'],
    ];
    for (const values of samples) {
      const { type, cast } = inferColumnType(values);
      expect(cast).toBeUndefined();
      const { check } = compileColumnCheck('c', type);
      for (const value of values) expect(check(value), `${value} as ${type}`).not.toBeInstanceOf(Invalid);
    }
  });
});
