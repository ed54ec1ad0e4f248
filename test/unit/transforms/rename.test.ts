import { describe, expect, it } from 'vitest';
import { TransformConfigError } from '../../../functions/engine/transforms/index.js';
import { runOne } from './run-transforms.js';

describe('rename', () => {
  it('renames a column and keeps its value', () => {
    const outcome = runOne([{ rename: { 'Order ID': 'order_id' } }], { 'Order ID': '7', total: '3' });

    expect(outcome).toEqual({ kind: 'row', row: { order_id: '7', total: '3' } });
  });

  it('swaps two columns when they are renamed to each other', () => {
    const outcome = runOne([{ rename: { a: 'b', b: 'a' } }], { a: 'first', b: 'second' });

    expect(outcome).toEqual({ kind: 'row', row: { a: 'second', b: 'first' } });
  });

  it('leaves the row alone when the column to rename is absent', () => {
    const outcome = runOne([{ rename: { old: 'new' } }], { other: 1 });

    expect(outcome).toEqual({ kind: 'row', row: { other: 1 } });
  });

  it('fails when two columns are renamed to the same name', () => {
    expect(() => runOne([{ rename: { a: 'x', b: 'x' } }], {})).toThrow(
      new TransformConfigError('transforms[0].rename.b', 'both "a" and "b" are renamed to "x"'),
    );
  });
});
