import { describe, expect, it } from 'vitest';
import { copyText } from './validate-one.js';

describe('boolean columns', () => {
  it('writes t or f for every accepted spelling', () => {
    for (const value of ['true', 'T', 'yes', 'Y', '1', 'on', ' TRUE ', true, 1])
      expect(copyText('boolean', value)).toBe('t');
    for (const value of ['false', 'F', 'no', 'n', '0', 'OFF', false, 0])
      expect(copyText('boolean', value)).toBe('f');
  });

  it('rejects other values, listing what is accepted', () => {
    expect(copyText('boolean', 'maybe')).toBe(
      'rejected: value "maybe" is not a valid boolean (true/false, t/f, yes/no, y/n, 1/0, on/off)',
    );
    expect(copyText('boolean', 2)).toMatch(/^rejected: value 2 is not a valid boolean/);
  });
});
