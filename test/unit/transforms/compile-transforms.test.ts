import { describe, expect, it } from 'vitest';
import { transformSchema } from '../../../functions/engine/spec/schema.js';
import { compileTransforms, secretsNeededBy } from '../../../functions/engine/transforms/index.js';
import { runOne, runTransforms } from './run-transforms.js';

describe('compileTransforms', () => {
  it('applies transforms in spec order', () => {
    const specs = [
      { rename: { 'Unit Price': 'price' } },
      { cast: { column: 'price', to: 'number' as const, decimal: ',' } },
      { derive: { total: 'price * qty' } },
      { filter: 'total > 5' },
      { drop: ['qty'] },
    ];

    const outcomes = runTransforms(specs, [
      { 'Unit Price': '2,5', qty: '4' },
      { 'Unit Price': '1,0', qty: '1' },
    ]);

    expect(outcomes).toEqual([{ kind: 'row', row: { price: 2.5, total: 10 } }, { kind: 'filtered' }]);
  });

  it('stops at the first transform that rejects the row', () => {
    const specs = [{ cast: { column: 'qty', to: 'integer' as const } }, { derive: { double: 'qty * 2' } }];

    const outcome = runOne(specs, { qty: 'x' });

    expect(outcome).toEqual({ kind: 'rejected', column: 'qty', reason: 'cannot cast "x" to integer' });
  });

  it('never changes the input row, so a reject can show it as read', () => {
    const input = { name: ' Ada ', qty: '2', extra: 'x' };
    const transform = compileTransforms(
      [{ trim: 'all' }, { drop: ['extra'] }, { cast: { column: 'qty', to: 'integer' } }],
      {
        hashKeys: {},
      },
    );

    transform(input);

    expect(input).toEqual({ name: ' Ada ', qty: '2', extra: 'x' });
  });

  it('returns the row as it is when there are no transforms', () => {
    const outcome = runOne([], { a: '1' });

    expect(outcome).toEqual({ kind: 'row', row: { a: '1' } });
  });

  it('accepts transforms as the spec schema parses them', () => {
    const specs = [
      transformSchema.parse({ dedupe: {} }),
      transformSchema.parse({ case: { columns: ['a'], to: 'upper' } }),
    ];

    const outcome = runOne(specs, { a: 'x' });

    expect(outcome).toEqual({ kind: 'row', row: { a: 'X' } });
  });

  it('fails when a transform names the column __proto__', () => {
    const derive = JSON.parse('{ "derive": { "__proto__": "1" } }');

    expect(() => runOne([derive], {})).toThrow(
      'transforms[0].derive.__proto__: "__proto__" cannot be used as a column name',
    );
  });
});

describe('secretsNeededBy', () => {
  it('lists each hash key secret once, in spec order', () => {
    const specs = [
      { hash: { columns: ['a'], keySecret: 'k2' } },
      { trim: 'all' as const },
      { hash: { columns: ['b'], keySecret: 'k1' } },
      { hash: { columns: ['c'], keySecret: 'k2' } },
    ];

    expect(secretsNeededBy(specs)).toEqual(['k2', 'k1']);
  });

  it('is empty when no transform hashes', () => {
    expect(secretsNeededBy([{ trim: 'all' }])).toEqual([]);
  });
});
