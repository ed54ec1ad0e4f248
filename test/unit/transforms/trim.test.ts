import { describe, expect, it } from 'vitest';
import { runOne } from './run-transforms.js';

describe('trim', () => {
  it('trims every string value with all, including non-breaking spaces', () => {
    const outcome = runOne([{ trim: 'all' }], {
      name: '  Ada ',
      city: '\u00a0Paris\t',
      qty: 3,
      tags: [' a '],
    });

    expect(outcome).toEqual({ kind: 'row', row: { name: 'Ada', city: 'Paris', qty: 3, tags: [' a '] } });
  });

  it('trims only the listed columns', () => {
    const outcome = runOne([{ trim: ['name'] }], { name: ' Ada ', code: ' 007 ' });

    expect(outcome).toEqual({ kind: 'row', row: { name: 'Ada', code: ' 007 ' } });
  });

  it('leaves null and missing values as they are', () => {
    const outcome = runOne([{ trim: ['name', 'absent'] }], { name: null });

    expect(outcome).toEqual({ kind: 'row', row: { name: null } });
  });
});
