import { describe, expect, it } from 'vitest';
import { runOne } from './run-transforms.js';

describe('default', () => {
  it('fills a missing, null or empty value and keeps a present one', () => {
    const spec = [{ default: { country: 'DE', qty: 1, active: true } }];

    const missing = runOne(spec, { qty: null, active: '' });
    const present = runOne(spec, { country: 'FR', qty: 0, active: false });

    expect(missing).toEqual({ kind: 'row', row: { country: 'DE', qty: 1, active: true } });
    expect(present).toEqual({ kind: 'row', row: { country: 'FR', qty: 0, active: false } });
  });

  it('does not treat blanks as empty (trim first for that)', () => {
    const outcome = runOne([{ default: { country: 'DE' } }], { country: '  ' });

    expect(outcome).toEqual({ kind: 'row', row: { country: '  ' } });
  });
});
