import { describe, expect, it } from 'vitest';
import { runOne, runTransforms } from './run-transforms.js';

const filter = (expression: string, row: Record<string, unknown>) =>
  runOne([{ filter: expression }], row).kind;

describe('filter', () => {
  it('keeps rows where the expression is true and filters the others', () => {
    const rows = [{ amount: '150' }, { amount: '50' }, { amount: '100.0' }];

    const outcomes = runTransforms([{ filter: 'amount >= 100' }], rows);

    expect(outcomes.map((o) => o.kind)).toEqual(['row', 'filtered', 'row']);
  });

  it('compares numeric strings as numbers, not as text', () => {
    expect(filter('qty > 9', { qty: '10' })).toBe('row');
    expect(filter('qty == 10', { qty: '10.0' })).toBe('row');
  });

  it('compares text exactly, keeping leading zeros meaningful', () => {
    expect(filter('zip == "01234"', { zip: '01234' })).toBe('row');
    expect(filter('zip == "1234"', { zip: '01234' })).toBe('filtered');
  });

  it('orders ISO dates as text', () => {
    expect(filter('day >= "2026-01-01"', { day: '2026-03-01' })).toBe('row');
    expect(filter('day >= "2026-01-01"', { day: '2025-12-31' })).toBe('filtered');
  });

  it('treats comparisons with empty or null values as false, as SQL does', () => {
    expect(filter('amount > 0', { amount: '' })).toBe('filtered');
    expect(filter('amount > 0', { amount: null })).toBe('filtered');
    expect(filter('not exists(amount)', { amount: null })).toBe('row');
    expect(filter('empty(amount)', { amount: '' })).toBe('row');
  });

  it('fails when the filter reads a column the row does not have: rejected, not filtered out', () => {
    expect(runOne([{ filter: 'amount > 0' }], {})).toEqual({
      kind: 'rejected',
      reason:
        'filter "amount > 0" failed: column "amount" is not in this row (an expression never reads a missing column as null)',
    });
  });

  it('combines conditions with and, or, not, in and regex matches', () => {
    const row = { status: 'shipped', country: 'DE', email: 'a@b.org' };

    expect(filter('status in ("shipped", "paid") and country != "FR"', row)).toBe('row');
    expect(filter('not (status == "shipped") or country == "FR"', row)).toBe('filtered');
    expect(filter('email ~= "@b\\\\.org$"', row)).toBe('row');
  });

  it('reads spelled-out booleans from CSV as booleans', () => {
    expect(filter('active', { active: 'false' })).toBe('filtered');
    expect(filter('active', { active: 'yes' })).toBe('row');
    expect(filter('active == true', { active: 'TRUE' })).toBe('row');
    expect(filter('active', { active: true })).toBe('row');
  });

  it('rejects a row where the expression fails, with the reason', () => {
    const outcome = runOne([{ filter: 'amount > 10' }], { amount: 'n/a' });

    expect(outcome).toEqual({
      kind: 'rejected',
      reason: 'filter "amount > 10" failed: cannot compare "n/a" > 10',
    });
  });

  it('rejects a row whose value before in is null, saying how to allow it', () => {
    const outcome = runOne([{ filter: 'status in ("a", "b")' }], { status: null });

    expect(outcome).toEqual({
      kind: 'rejected',
      reason:
        'filter "status in (\\"a\\", \\"b\\")" failed: the value before "in" is null; use coalesce(x, "") in (...) for optional columns',
    });
  });

  it('fails at compile time on a malformed expression', () => {
    expect(() => filter('amount >', {})).toThrow(/^transforms\[0\]\.filter: invalid expression "amount >"/);
    expect(() => filter('amount # 3', {})).toThrow(
      'transforms[0].filter: invalid expression "amount # 3": unrecognized text at "# 3"',
    );
  });
});
