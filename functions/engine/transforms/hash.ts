import { createHmac } from 'node:crypto';
import { assertSafeColumnName, TransformConfigError } from './errors.js';
import type { RowStep } from './step.js';

/**
 * `hash: {columns, keySecret}`: replaces each value with the hex HMAC-SHA256 of its text under the key
 * held in the secret, so equal inputs give equal, unguessable outputs across runs. A number and its
 * text (42 and "42") hash alike; objects hash as their JSON. Null, missing and '' stay as they are.
 */
export function compileHash(
  spec: { columns: readonly string[]; keySecret: string },
  path: string,
  hashKeys: Readonly<Record<string, Buffer>>,
): RowStep {
  spec.columns.forEach((name, i) => {
    assertSafeColumnName(name, `${path}.columns[${i}]`);
  });
  const key = Object.hasOwn(hashKeys, spec.keySecret) ? hashKeys[spec.keySecret] : undefined;
  if (!key || key.length === 0) {
    throw new TransformConfigError(
      `${path}.keySecret`,
      `the HMAC key from secret "${spec.keySecret}" was not resolved`,
    );
  }
  const { columns } = spec;
  return (row) => {
    for (const name of columns) {
      const value = row[name];
      if (value === undefined || value === null || value === '') continue;
      row[name] = hmacOfValue(key, value);
    }
    return row;
  };
}

/** The hex HMAC-SHA256 a `hash` transform gives a (non-empty) value; rejects show hashed columns so. */
export function hmacOfValue(key: Buffer, value: unknown): string {
  return createHmac('sha256', key).update(textOfValue(value), 'utf8').digest('hex');
}

/** The text a value is hashed as: strings as they are, objects as their JSON. */
export function textOfValue(value: unknown): string {
  return typeof value === 'string'
    ? value
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value);
}
