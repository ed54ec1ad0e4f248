import { describe, expect, it } from 'vitest';
import { runOne } from './run-transforms.js';

describe('case', () => {
  it('lower-cases the listed string columns', () => {
    const outcome = runOne([{ case: { columns: ['email'], to: 'lower' } }], {
      email: 'Ada@Example.COM',
      name: 'Ada',
    });

    expect(outcome).toEqual({ kind: 'row', row: { email: 'ada@example.com', name: 'Ada' } });
  });

  it('upper-cases without locale surprises and leaves non-strings alone', () => {
    const outcome = runOne([{ case: { columns: ['code', 'qty'], to: 'upper' } }], {
      code: 'istanbul-ß',
      qty: 3,
    });

    expect(outcome).toEqual({ kind: 'row', row: { code: 'ISTANBUL-SS', qty: 3 } });
  });
});
