import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rejectRedactor } from '../../../functions/engine/run/reject-redaction.js';
import type { TransformSpec } from '../../../functions/engine/spec/schema.js';

const key = Buffer.from('k3y-for-tests', 'utf8');
const hmac = (text: string) => createHmac('sha256', key).update(text, 'utf8').digest('hex');
const location = 'people.csv:3';

describe('rejectRedactor', () => {
  it('hashes a hashed column in a rejected row, as the load would have', () => {
    const redact = rejectRedactor([{ hash: { columns: ['email'], keySecret: 'k' } }], { k: key })!;

    const out = redact({
      location,
      column: 'age',
      reason: 'not an integer: "x"',
      row: { email: 'ann@example.test', age: 'x' },
    });

    expect(out.row).toEqual({ email: hmac('ann@example.test'), age: 'x' });
    expect(out.reason).toBe('not an integer: "x"');
  });

  it('follows a rename back to the column as read', () => {
    const transforms: TransformSpec[] = [
      { rename: { mail: 'email' } },
      { hash: { columns: ['email'], keySecret: 'k' } },
    ];
    const redact = rejectRedactor(transforms, { k: key })!;

    const out = redact({ location, reason: 'bad', row: { mail: 'bob@example.test', n: 1 } });

    expect(out.row).toEqual({ mail: hmac('bob@example.test'), n: 1 });
  });

  it('takes the clear value out of a reason that quotes it, whole or shortened', () => {
    const redact = rejectRedactor([{ hash: { columns: ['email'], keySecret: 'k' } }], { k: key })!;
    const long = `${'z'.repeat(90)}@example.test`;

    const quoted = redact({
      location,
      column: 'email',
      reason: 'not a valid email: "carol@example.test"',
      row: { email: 'carol@example.test' },
    });
    const shortened = redact({
      location,
      column: 'email',
      reason: `too long: "${long.slice(0, 79)}…"`,
      row: { email: long },
    });

    expect(quoted.reason).toBe('not a valid email: "[hashed]"');
    expect(shortened.reason).toBe('too long: "[hashed]"');
  });

  it('shows no text of a line that could not be parsed, and no quoted piece of it', () => {
    const redact = rejectRedactor([{ hash: { columns: ['email'], keySecret: 'k' } }], { k: key })!;

    const out = redact({
      location,
      reason: `Unexpected token 'd', "dave@examp"... is not valid JSON`,
      row: '{"email": dave@example.test}',
    });

    expect(out.row).toBe('[raw text not shown: this pipeline hashes email; the location names the line]');
    expect(out.reason).toBe(`Unexpected token 'd', "…"... is not valid JSON`);
  });

  it('changes nothing when the spec hashes nothing', () => {
    expect(rejectRedactor([{ trim: 'all' }], {})).toBeUndefined();
  });
});
