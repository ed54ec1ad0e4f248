import { describe, expect, it } from 'vitest';
import { rowMaker } from '../../../functions/connectors/files/row-maker.js';

/** The row as the reader built it before rowMaker: one key at a time, in header order. */
function keyByKey(header: readonly string[], fields: readonly string[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let j = 0; j < header.length; j++) row[header[j]!] = fields[j];
  return row;
}

function expectSameAsKeyByKey(header: readonly string[]): void {
  const fields = header.map((_, j) => `v${j}`);
  const row = rowMaker(header)(fields);
  const expected = keyByKey(header, fields);
  expect(row).toStrictEqual(expected);
  expect(Object.keys(row)).toEqual(Object.keys(expected));
  expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
}

describe('rowMaker', () => {
  it('keys the fields by the header names, in order', () => {
    expect(rowMaker(['id', 'name'])(['1', 'Ada'])).toStrictEqual({ id: '1', name: 'Ada' });
    expectSameAsKeyByKey(['order_id', 'order_date', 'note']);
  });

  it('keeps the last field of a repeated name, where the first one stood', () => {
    expectSameAsKeyByKey(['a', 'b', 'a']);
    expect(rowMaker(['a', 'b', 'a'])(['1', '2', '3'])).toStrictEqual({ a: '3', b: '2' });
  });

  it('never runs a header name as code: quotes, backslashes, line breaks and braces stay text', () => {
    const hostile = [
      'a"}; globalThis.__pwned = 1; ({"b',
      "c'); globalThis.__pwned = 1; ('",
      'd\\',
      'e\n}\nglobalThis.__pwned = 1;\n{',
      'f\u2028g\u2029h',
      '${globalThis.__pwned = 1}',
      '\ud800 lone surrogate',
      '',
      '0',
      '10',
      'constructor',
      'fields',
    ];
    expectSameAsKeyByKey(hostile);
    expect((globalThis as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it('drops a __proto__ column as key-by-key assignment does, never changing the prototype', () => {
    expectSameAsKeyByKey(['id', '__proto__', 'x']);
    const row = rowMaker(['id', '__proto__'])(['1', '2']);
    expect(Object.hasOwn(row, '__proto__')).toBe(false);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
  });

  it('builds very wide rows key by key, with the same result', () => {
    expectSameAsKeyByKey(Array.from({ length: 600 }, (_, j) => `c${j}`));
    expectSameAsKeyByKey(Array.from({ length: 512 }, (_, j) => `c${j}`));
  });

  it('gives every row its own object', () => {
    const make = rowMaker(['a']);
    const first = make(['1']);
    const second = make(['2']);
    first.a = 'changed';
    expect(second).toStrictEqual({ a: '2' });
  });
});
