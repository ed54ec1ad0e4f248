import { describe, expect, it } from 'vitest';
import { TransformConfigError } from '../../../functions/engine/transforms/index.js';
import { runOne } from './run-transforms.js';

const derive = (expression: string, row: Record<string, unknown>) =>
  runOne([{ derive: { out: expression } }], row);
const derived = (expression: string, row: Record<string, unknown>) => {
  const outcome = derive(expression, row);
  if (outcome.kind !== 'row') throw new Error(`expected a row, got ${JSON.stringify(outcome)}`);
  return outcome.row.out;
};

describe('derive', () => {
  it('computes with numeric strings from CSV as numbers', () => {
    expect(derived('price * qty', { price: '2.50', qty: '4' })).toBe(10);
    expect(derived('price + qty', { price: '2.5', qty: '4' })).toBe(6.5);
    expect(derived('-price', { price: '2.5' })).toBe(-2.5);
    expect(derived('qty mod 3', { qty: '7' })).toBe(1);
  });

  it('concatenates text with + and concat()', () => {
    expect(derived('first + " " + last', { first: 'Ada', last: 'Lovelace' })).toBe('Ada Lovelace');
    expect(derived('concat(code, "-", n)', { code: '007', n: 1 })).toBe('007-1');
  });

  it('gives null when a side of arithmetic is empty or null', () => {
    expect(derived('price * qty', { price: '', qty: '4' })).toBeNull();
    expect(derived('price * qty', { price: null, qty: 4 })).toBeNull();
  });

  it('fails when an expression reads a column the row does not have: the row is rejected, never loaded with null', () => {
    const outcome = derive('price * qty', { qty: '4' });

    expect(outcome).toEqual({
      kind: 'rejected',
      column: 'out',
      reason:
        'expression "price * qty" failed: column "price" is not in this row (an expression never reads a missing column as null)',
    });
  });

  it('fails when a function argument or a nested path starts at a missing column', () => {
    expect(derive('coalesce(note, "none")', {})).toMatchObject({
      kind: 'rejected',
      reason: expect.stringContaining('column "note" is not in this row'),
    });
    expect(derive('customer.city', { client: { city: 'Oslo' } })).toMatchObject({
      kind: 'rejected',
      reason: expect.stringContaining('column "customer.city" is not in this row'),
    });
  });

  it('reads an absent field inside a present JSON object as null, as JSON does', () => {
    expect(derived('customer.city', { customer: { country: 'NO' } })).toBeNull();
    expect(derived('city of customer', { customer: { country: 'NO' } })).toBeNull();
  });

  it('lets a later expression use an earlier derived column', () => {
    const outcome = runOne([{ derive: { net: 'gross - tax', half: 'net / 2' } }], { gross: '10', tax: '2' });

    expect(outcome).toEqual({ kind: 'row', row: { gross: '10', tax: '2', net: 8, half: 4 } });
  });

  it('provides text, number and date helpers', () => {
    const row = { name: '  Ada ', email: 'ADA@X.ORG', day: '2026-02-28', note: '', n: '-2.5' };

    expect(derived('trim(name)', row)).toBe('Ada');
    expect(derived('lower(email)', row)).toBe('ada@x.org');
    expect(derived('upper(trim(name))', row)).toBe('ADA');
    expect(derived('len("héllo 👋")', row)).toBe(7);
    expect(derived('coalesce(note, "none")', row)).toBe('none');
    expect(derived('round(n)', row)).toBe(-3);
    expect(derived('round(1.005, 2)', row)).toBe(1.01);
    expect(derived('abs(n)', row)).toBe(2.5);
    expect(derived('year(day) * 100 + month(day)', row)).toBe(202602);
    expect(derived('day(day)', row)).toBe(28);
    expect(derived('left(email, 3)', row)).toBe('ADA');
    expect(derived('replace(day, "-", "")', row)).toBe('20260228');
    expect(derived('if n < 0 then "neg" else "pos"', row)).toBe('neg');
  });

  it('reads nested JSON fields and oddly named columns', () => {
    const row = { customer: { address: { city: 'Oslo' } }, 'unit price': 3 };

    expect(derived('customer.address.city', row)).toBe('Oslo');
    expect(derived('city of address of customer', row)).toBe('Oslo');
    expect(derived("'unit price' * 2", row)).toBe(6);
  });

  it('rejects a row where an expression meets a value it cannot use, naming the column', () => {
    const outcome = derive('price * qty', { price: '2.5', qty: 'three' });

    expect(outcome).toEqual({
      kind: 'rejected',
      column: 'out',
      reason: 'expression "price * qty" failed: cannot compute "2.5" * "three": both sides must be numbers',
    });
  });

  it('rejects a row where an expression divides by zero', () => {
    const outcome = derive('total / qty', { total: '10', qty: '0' });

    expect(outcome).toEqual({
      kind: 'rejected',
      column: 'out',
      reason: 'expression "total / qty" gave Infinity (division by zero?)',
    });
  });

  it('rejects a row where a helper gets a value it cannot read', () => {
    const outcome = derive('year(day)', { day: '28/02/2026' });

    expect(outcome).toEqual({
      kind: 'rejected',
      column: 'out',
      reason: 'expression "year(day)" failed: year() expects an ISO date, got "28/02/2026"',
    });
  });

  it('fails at compile time on a syntax error, naming the transform and the column', () => {
    const compile = () => runOne([{ trim: 'all' }, { derive: { total: 'price *' } }], {});

    expect(compile).toThrow(TransformConfigError);
    expect(compile).toThrow(
      /^transforms\[1\]\.derive\.total: invalid expression "price \*": Expecting .* at the end$/,
    );
  });

  it('fails at compile time on an unknown function, such as a clock', () => {
    expect(() => derive('now()', {})).toThrow(
      /^transforms\[0\]\.derive\.out: invalid expression "now\(\)": unknown function now\(\)/,
    );
  });

  it('cannot reach JavaScript globals or prototypes', () => {
    // Names of prototype members and globals are columns like any other: absent here, so refused.
    for (const name of ['constructor', 'toString', 'process'])
      expect(derive(name, {})).toMatchObject({
        kind: 'rejected',
        reason: expect.stringContaining(`column "${name}" is not in this row`),
      });
    expect(() => derive('constructor.constructor("return process")()', {})).toThrow(TransformConfigError);
  });

  it('gives the same result for the same row every time', () => {
    const row = { a: '1.1', b: '2.2' };

    expect(derived('a + b', row)).toBe(derived('a + b', row));
  });
});
