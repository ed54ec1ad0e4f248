import { describe, expect, it } from 'vitest';
import { destinationNames, snakeCase } from '../../../bin/cli/init/names.js';
import { identifier } from '../../../functions/engine/spec/schema.js';

describe('destination names (sluice init)', () => {
  it('snake_cases headers: spaces, symbols, camelCase and acronyms', () => {
    expect(snakeCase('Cost Total $')).toBe('cost_total');
    expect(snakeCase('orderId')).toBe('order_id');
    expect(snakeCase('HTTPStatus')).toBe('http_status');
    expect(snakeCase('Margin %')).toBe('margin_pct');
    expect(snakeCase('  Ship-To / City  ')).toBe('ship_to_city');
  });

  it('transliterates accented Latin letters', () => {
    expect(snakeCase('Café crème')).toBe('cafe_creme');
    expect(snakeCase('Straße Nr.')).toBe('stra_e_nr');
  });

  it('prefixes a name that would start with a digit', () => {
    expect(snakeCase('2024 sales')).toBe('c_2024_sales');
  });

  it('keeps SQL keywords (Sluice quotes every identifier) but not names reserved in rows', () => {
    expect(snakeCase('select')).toBe('select');
    expect(snakeCase('Order')).toBe('order');
    expect(snakeCase('__proto__')).toBe('proto');
    expect(snakeCase('constructor')).toBe('constructor_');
  });

  it('shortens very long names to 63 characters, keeping them apart with a hash', () => {
    const a = snakeCase(`${'very long header '.repeat(10)}a`)!;
    const b = snakeCase(`${'very long header '.repeat(10)}b`)!;
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
  });

  it('numbers empty and non-Latin names, and suffixes duplicates', () => {
    expect(destinationNames(['Id', 'ID', '', '日付', 'id_2', '$'])).toEqual([
      'id',
      'id_2',
      'column_3',
      'column_4',
      'id_2_2',
      'column_6',
    ]);
  });

  it('gives every hostile header a valid, distinct identifier', () => {
    const hostile = [
      '',
      ' ',
      'id',
      'id',
      'ID',
      'select',
      'from',
      '__proto__',
      'constructor',
      'prototype',
      'x'.repeat(300),
      'x'.repeat(300),
      'Ünïcödé',
      '名前',
      '😀',
      'a"b',
      "a'b; DROP TABLE t; --",
      '_sluice_seq',
      '123',
    ];
    const names = destinationNames(hostile);
    expect(new Set(names).size).toBe(hostile.length);
    for (const name of names) expect(identifier.safeParse(name).success, name).toBe(true);
    expect(names).not.toContain('_sluice_seq');
  });
});
