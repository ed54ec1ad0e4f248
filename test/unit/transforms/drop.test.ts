import { describe, expect, it } from 'vitest';
import { runOne } from './run-transforms.js';

describe('drop', () => {
  it('removes the listed columns and keeps the rest', () => {
    const outcome = runOne([{ drop: ['ssn', 'notes'] }], { id: '1', ssn: '123', notes: 'n', name: 'Ada' });

    expect(outcome).toEqual({ kind: 'row', row: { id: '1', name: 'Ada' } });
  });

  it('ignores a column the row does not have', () => {
    const outcome = runOne([{ drop: ['ssn'] }], { id: '1' });

    expect(outcome).toEqual({ kind: 'row', row: { id: '1' } });
  });
});
