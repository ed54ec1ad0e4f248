import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { parseSecretJson, SecretFormatError } from '../../../functions/adapters/secrets/secret-json.js';

const schema = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  port: z.coerce.number().int(),
});
const SHAPE = 'a database secret { username, password, port }';

/** Every 4-character piece of the value: none may appear in the message. */
function fragments(value: string): string[] {
  return Array.from({ length: value.length - 3 }, (_, i) => value.slice(i, i + 4));
}

describe('parseSecretJson', () => {
  it('parses a secret of the expected shape', () => {
    const text = JSON.stringify({ username: 'loader', password: 'pw', port: '5432' });

    expect(parseSecretJson('warehouse', text, schema, SHAPE)).toEqual({
      username: 'loader',
      password: 'pw',
      port: 5432,
    });
  });

  it('fails when the secret is not JSON, naming the secret and the shape and quoting nothing of it', () => {
    const value = 'Tr0ub4dor-and-3-horses';

    const act = () => parseSecretJson('warehouse', value, schema, SHAPE);

    expect(act).toThrow(SecretFormatError);
    expect(act).toThrow(
      'secret "warehouse" is not JSON: expected a database secret { username, password, port } (its value is not shown)',
    );
    const message = (() => {
      try {
        act();
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    for (const piece of fragments(value)) expect(message).not.toContain(piece);
  });

  it('fails when fields are wrong, naming them by path and never their values', () => {
    const text = JSON.stringify({ username: 'qX9vLoader', password: 12345678, port: 'zzKp' });

    const act = () => parseSecretJson('warehouse', text, schema, SHAPE);

    expect(act).toThrow(
      'secret "warehouse" is not a database secret { username, password, port }: check password (expected string), port (expected number) (its value is not shown)',
    );
  });
});
