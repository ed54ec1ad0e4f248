import { describe, expect, it } from 'vitest';
import { globToRegExp, literalPrefix } from '../../../functions/sdk/glob.js';

describe('globToRegExp', () => {
  const cases: [string, string, boolean][] = [
    ['*.csv', 'orders.csv', true],
    ['*.csv', 'raw/orders.csv', false],
    ['*.csv', 'orders.csv.gz', false],
    ['**/*.csv', 'orders.csv', true],
    ['**/*.csv', 'raw/2026/01/orders.csv', true],
    ['**/*', 'a', true],
    ['**/*', 'a/b/c.jsonl', true],
    ['raw/**', 'raw/x/y.csv', true],
    ['raw/**', 'rawx/y.csv', false],
    ['raw/**/*.gz', 'raw/a.gz', true],
    ['raw/**/*.gz', 'raw/a/b/c.gz', true],
    ['orders-202?-*.csv', 'orders-2026-01.csv', true],
    ['orders-202?-*.csv', 'orders-20261-01.csv', false],
    ['*.{csv,csv.gz}', 'a.csv.gz', true],
    ['*.{csv,csv.gz}', 'a.jsonl', false],
    ['{a,b/{c,d}}.csv', 'b/d.csv', true],
    ['{a,b/{c,d}}.csv', 'b/e.csv', false],
    ['[ab]*.csv', 'b1.csv', true],
    ['[!ab]*.csv', 'b1.csv', false],
    ['[!ab]*.csv', 'c1.csv', true],
    ['a+b (1).csv', 'a+b (1).csv', true],
    ['a.csv', 'abcsv', false],
    ['./*.csv', 'x.csv', true],
    ['{a,b', '{a,b', true],
  ];
  for (const [pattern, key, expected] of cases) {
    it(`${expected ? 'matches' : 'does not match'} ${key} with ${pattern}`, () => {
      expect(globToRegExp(pattern).test(key)).toBe(expected);
    });
  }
});

describe('literalPrefix', () => {
  it('is the folder part before the first wildcard', () => {
    expect(literalPrefix('raw/2026/*.csv')).toBe('raw/2026/');
    expect(literalPrefix('raw/2026/orders-*.csv')).toBe('raw/2026/');
    expect(literalPrefix('**/*.csv')).toBe('');
    expect(literalPrefix('{raw,old}/*.csv')).toBe('');
    expect(literalPrefix('raw/orders.csv')).toBe('raw/');
  });
});
