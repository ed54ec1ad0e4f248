import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runOne } from './run-transforms.js';

const hashKeys = { 'pii-key': Buffer.from('s3cret-key', 'utf8') };
const spec = [{ hash: { columns: ['email', 'phone'], keySecret: 'pii-key' } }];
const hmac = (text: string) => createHmac('sha256', hashKeys['pii-key']).update(text).digest('hex');

describe('hash', () => {
  it('replaces values with the hex HMAC-SHA256 under the secret key', () => {
    const outcome = runOne(spec, { email: 'ada@example.com', phone: '+44 1', name: 'Ada' }, { hashKeys });

    expect(outcome).toEqual({
      kind: 'row',
      row: { email: hmac('ada@example.com'), phone: hmac('+44 1'), name: 'Ada' },
    });
    expect(hmac('ada@example.com')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the same digest for the same value every time, and for a number and its text', () => {
    const first = runOne(spec, { email: 'x', phone: 42 }, { hashKeys });
    const again = runOne(spec, { email: 'x', phone: '42' }, { hashKeys });

    expect(first).toEqual(again);
  });

  it('gives a different digest under a different key', () => {
    const other = { 'pii-key': Buffer.from('another-key') };

    const a = runOne(spec, { email: 'x' }, { hashKeys });
    const b = runOne(spec, { email: 'x' }, { hashKeys: other });

    expect(a).not.toEqual(b);
  });

  it('leaves null, empty and missing values alone', () => {
    const outcome = runOne(spec, { email: null, phone: '' }, { hashKeys });

    expect(outcome).toEqual({ kind: 'row', row: { email: null, phone: '' } });
  });

  it('fails at compile time when the key was not resolved', () => {
    expect(() => runOne(spec, {}, { hashKeys: {} })).toThrow(
      'transforms[0].hash.keySecret: the HMAC key from secret "pii-key" was not resolved',
    );
  });
});
