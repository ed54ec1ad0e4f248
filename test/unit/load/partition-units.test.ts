import { describe, expect, it } from 'vitest';
import {
  boundLiteral,
  defaultPartitionName,
  nextUnitStart,
  partitionName,
  shiftUnitStart,
  unitStartFromPartitionName,
  unitStartOf,
  unitTruncExpression,
} from '../../../functions/engine/load/partition-units.js';

describe('partition units', () => {
  it('finds the unit start of an instant in UTC; weeks start on Monday', () => {
    const instant = new Date('2024-01-07T23:30:00Z'); // a Sunday
    expect(unitStartOf(instant, 'day')).toBe('2024-01-07');
    expect(unitStartOf(instant, 'week')).toBe('2024-01-01');
    expect(unitStartOf(new Date('2024-01-08T00:00:00Z'), 'week')).toBe('2024-01-08');
    expect(unitStartOf(instant, 'month')).toBe('2024-01-01');
    expect(unitStartOf(instant, 'year')).toBe('2024-01-01');
  });

  it('steps units across month, leap-day and year ends', () => {
    expect(nextUnitStart('2024-02-28', 'day')).toBe('2024-02-29');
    expect(nextUnitStart('2024-12-30', 'week')).toBe('2025-01-06');
    expect(nextUnitStart('2024-12-01', 'month')).toBe('2025-01-01');
    expect(nextUnitStart('2024-01-01', 'year')).toBe('2025-01-01');
    expect(shiftUnitStart('2024-06-01', 'month', -24)).toBe('2022-06-01');
  });

  it('names partitions by unit and reads the start back', () => {
    expect(partitionName('orders', '2024-01-15', 'day')).toBe('orders_p20240115');
    expect(partitionName('orders', '2024-01-15', 'week')).toBe('orders_p20240115');
    expect(partitionName('orders', '2024-01-01', 'month')).toBe('orders_p202401');
    expect(partitionName('orders', '2024-01-01', 'year')).toBe('orders_p2024');
    expect(unitStartFromPartitionName('orders', 'orders_p202401', 'month')).toBe('2024-01-01');
    expect(unitStartFromPartitionName('orders', 'orders_p2024', 'year')).toBe('2024-01-01');
    expect(unitStartFromPartitionName('orders', 'orders_p20240115', 'week')).toBe('2024-01-15');
  });

  it('ignores names Sluice did not make', () => {
    expect(unitStartFromPartitionName('orders', 'orders_default', 'month')).toBeUndefined();
    expect(unitStartFromPartitionName('orders', 'orders_manual', 'month')).toBeUndefined();
    expect(unitStartFromPartitionName('orders', 'orders_p202413', 'month')).toBeUndefined();
    expect(unitStartFromPartitionName('orders', 'orders_p20240116', 'week')).toBeUndefined(); // a Tuesday
    expect(unitStartFromPartitionName('orders', 'other_p202401', 'month')).toBeUndefined();
  });

  it('keeps names within 63 characters by shortening the table part, so partitions never collide', () => {
    const long = 'a'.repeat(63);
    const jan = partitionName(long, '2024-01-01', 'day');
    expect(jan).toHaveLength(63);
    expect(jan.endsWith('_p20240101')).toBe(true);
    expect(partitionName(long, '2024-01-02', 'day')).not.toBe(jan);
    expect(defaultPartitionName(long)).toHaveLength(63);
    expect(unitStartFromPartitionName(long, jan, 'day')).toBe('2024-01-01');
  });

  it('places dates of years 0001-0099 and 9999 in their own units (no 19xx mapping)', () => {
    expect(nextUnitStart('0099-12-01', 'month')).toBe('0100-01-01');
    expect(nextUnitStart('0001-01-01', 'day')).toBe('0001-01-02');
    expect(nextUnitStart('0004-02-28', 'day')).toBe('0004-02-29');
    expect(nextUnitStart('0099-12-28', 'week')).toBe('0100-01-04');
    expect(shiftUnitStart('0050-01-01', 'year', -49)).toBe('0001-01-01');
    expect(unitStartOf(new Date('0099-12-31T12:00:00Z'), 'week')).toBe('0099-12-28');
    expect(partitionName('orders', '0099-12-01', 'month')).toBe('orders_p009912');
    expect(unitStartFromPartitionName('orders', 'orders_p00991228', 'week')).toBe('0099-12-28');
    expect(nextUnitStart('9999-12-01', 'month')).toBe('10000-01-01');
    expect(boundLiteral('10000-01-01', 'timestamp')).toBe("'10000-01-01 00:00:00'");
  });

  it('writes bounds for the column type, timestamptz in UTC', () => {
    expect(boundLiteral('2024-01-01', 'date')).toBe("'2024-01-01'");
    expect(boundLiteral('2024-01-01', 'timestamp')).toBe("'2024-01-01 00:00:00'");
    expect(boundLiteral('2024-01-01', 'timestamptz')).toBe("'2024-01-01 00:00:00+00'");
  });

  it('fails on anything but a calendar date, so nothing else reaches SQL text', () => {
    expect(() => boundLiteral("2024-01-01'); DROP TABLE x; --", 'date')).toThrow(
      /not a partition unit start/,
    );
    expect(() => boundLiteral('2024-02-30', 'date')).toThrow(/not a calendar date/);
    expect(() => partitionName('orders', '10000-01-01', 'year')).toThrow();
  });

  it('cuts timestamptz values in UTC in SQL too', () => {
    expect(unitTruncExpression('"d"', 'timestamptz', 'week')).toBe(
      `date_trunc('week', ("d" AT TIME ZONE 'UTC'))`,
    );
    expect(unitTruncExpression('"d"', 'date', 'month')).toBe(`date_trunc('month', "d"::timestamp)`);
  });
});
