import { describe, expect, it } from 'vitest';
import { runOne } from './run-transforms.js';

describe('select', () => {
  it('keeps only the listed columns, in the listed order', () => {
    const row = { id: '1', name: 'Ada', secret: 'x', amount: '3' };

    const outcome = runOne([{ select: ['amount', 'id'] }], row);

    expect(outcome).toEqual({ kind: 'row', row: { amount: '3', id: '1' } });
    expect(Object.keys(outcome.kind === 'row' ? outcome.row : {})).toEqual(['amount', 'id']);
  });

  it('keeps a column whose value is null', () => {
    const outcome = runOne([{ select: ['id', 'note'] }], { id: 1, note: null });

    expect(outcome).toEqual({ kind: 'row', row: { id: 1, note: null } });
  });

  it('rejects a row that lacks a selected column, naming it', () => {
    const outcome = runOne([{ select: ['id', 'email'] }], { id: '1', name: 'Ada' });

    expect(outcome).toEqual({ kind: 'rejected', column: 'email', reason: 'column "email" is missing' });
  });
});
