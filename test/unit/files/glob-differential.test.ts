import { describe, expect, it } from 'vitest';
import { globToRegExp } from '../../../functions/sdk/glob.js';
import { globToRegExp as legacyGlobToRegExp } from './fixtures/legacy-glob.js';

/**
 * picomatch replaced a hand-written glob (issue 18): the same patterns must select the same keys.
 * Keys are built from the segments and names a files source meets (dot files, dates, spaces, regex
 * characters); patterns from the README, the connector docs and the edge cases of the old matcher.
 */
const PATTERNS = [
  '*.csv',
  '**/*.csv',
  '**/*',
  '**',
  'raw/**',
  'raw/**/*.gz',
  'raw/*/*.csv',
  'raw/2026/*.csv',
  'raw/2026/orders-*.csv',
  'orders-202?-*.csv',
  'orders-????-??.csv',
  '*.{csv,csv.gz}',
  '**/*.csv{,.gz}',
  '{,raw/}*.csv',
  '**/*.{csv,jsonl,parquet}',
  '{a,b/{c,d}}.csv',
  '{raw,old}/**/*.csv',
  '[ab]*.csv',
  '[!ab]*.csv',
  '[^ab]*.csv',
  '[0-9]*.csv',
  'raw/[0-9][0-9][0-9][0-9]/*',
  'a+b (1).csv',
  '*(1).csv',
  'a.csv',
  './*.csv',
  './raw/**/*.csv',
  '.hidden/*',
  '**/.*',
  '*.CSV',
  'raw/**/2026-*/*.jsonl',
  'data/*.json*',
  'x$y^z.csv',
  'a**b.csv',
  'raw/a**/*.csv',
  '**/orders*.csv.gz',
  'raw/*',
  '*/*',
  '*/',
  'raw/{2025,2026}/{01,02}/*.csv',
  '!(a).csv',
  '+(a).csv',
  '@(a).csv',
  '[]a]*.csv',
  '[(]*',
  '{a,b}}.csv',
  'a}b.csv',
  'a\\(1\\).csv',
  '{a,(b}.csv',
];

const FOLDERS = [
  '',
  'raw/',
  'old/',
  'raw/2026/',
  'raw/2025/01/',
  'raw/2026/02/',
  '.hidden/',
  'a/',
  'b/',
  'rawx/',
  'data/',
  'raw/a/',
  'raw/ab/',
  'raw/2026-01-02/',
];
const NAMES = [
  'orders.csv',
  'orders.csv.gz',
  'orders-2026-01.csv',
  'orders-20261-01.csv',
  'a.csv',
  'b.csv',
  'c.csv',
  'd.csv',
  'e.csv',
  'b1.csv',
  'c1.csv',
  '1.csv',
  'abcsv',
  'a+b (1).csv',
  'x(1).csv',
  '.env',
  '.orders.csv',
  'ORDERS.CSV',
  'x.jsonl',
  'x.parquet',
  'x.json',
  'x.json.gz',
  'x$y^z.csv',
  'ab.csv',
  'axxb.csv',
  'orders',
  '!(a).csv',
  '+(a).csv',
  '@(a).csv',
  'a',
  ']x.csv',
  '(1).csv',
  'a}.csv',
  'a}b.csv',
  '(b.csv',
];

describe('glob (picomatch) against the hand-written matcher it replaced', () => {
  it(`selects the same keys for ${PATTERNS.length} patterns × ${FOLDERS.length * NAMES.length} keys`, () => {
    // Prepare
    const keys = FOLDERS.flatMap((folder) => NAMES.map((name) => folder + name));
    const disagreements: string[] = [];
    let matched = 0;
    // Act
    for (const pattern of PATTERNS) {
      const ours = globToRegExp(pattern);
      const legacy = legacyGlobToRegExp(pattern);
      for (const key of keys) {
        const now = ours.test(key);
        if (now) matched += 1;
        if (now !== legacy.test(key)) disagreements.push(`${pattern} ${key}: picomatch ${now}`);
      }
    }
    // Assess: no disagreement, and the set is not trivially empty.
    expect(disagreements).toEqual([]);
    expect(matched).toBeGreaterThan(500);
  });
});
