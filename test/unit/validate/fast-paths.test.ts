import { describe, expect, it } from 'vitest';
import { parseIsoDate, parseIsoTimestamp } from '../../../functions/engine/validate/calendar.js';
import { copyText } from './validate-one.js';

/**
 * Dates, timestamps and integers in their usual exact form skip the regexes. A leading space sends the
 * same text down the general (regex) path, so the two paths must agree on every such pair.
 */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const next = random(20261124);
const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
const two = () => String(Math.floor(next() * 100)).padStart(2, '0');
const date = () => `${pick(['0000', '0001', '1900', '2000', '2023', '2024', '9999'])}-${two()}-${two()}`;

describe('fast paths agree with the general parser', () => {
  it('parses dates the same (valid, impossible and out-of-range alike)', () => {
    for (let i = 0; i < 5000; i++) {
      const text = date();
      expect(parseIsoDate(text)).toEqual(parseIsoDate(` ${text}`));
    }
  });

  it('parses timestamps the same, with a space, T or t', () => {
    for (let i = 0; i < 5000; i++) {
      const text = `${date()}${pick([' ', 'T', 't'])}${two()}:${two()}:${two()}`;
      expect(parseIsoTimestamp(text)).toEqual(parseIsoTimestamp(` ${text}`));
    }
    expect(parseIsoTimestamp('2024-02-29 23:59:59')).toMatchObject({ day: 29, second: 59 });
    expect(parseIsoTimestamp('2023-02-29 10:00:00')).toBe('is not a real date: February 2023 has 28 days');
    expect(parseIsoTimestamp('2024-01-01 24:00:00')).toBe('is not a real time: hour 24 does not exist');
  });

  it('writes the same COPY text for integers of every type', () => {
    const samples = [
      '0',
      '7',
      '42',
      '9999',
      '10000',
      '32767',
      '32768',
      '999999999',
      '2147483647',
      '2147483648',
    ];
    for (let i = 0; i < 2000; i++) samples.push(String(Math.floor(next() * 10 ** Math.ceil(next() * 10))));
    for (const type of ['smallint', 'integer', 'bigint'])
      for (const text of samples) {
        const fast = copyText(type, text);
        const general = copyText(type, ` ${text}`);
        expect(fast?.startsWith('rejected')).toBe(general?.startsWith('rejected'));
        if (!fast?.startsWith('rejected')) expect(fast).toBe(general);
      }
    expect(copyText('integer', '007')).toBe('7');
    expect(copyText('smallint', '40000')).toMatch(/^rejected: .* is out of range for smallint/);
  });

  it('writes the same COPY text for decimals, with and without a scale', () => {
    const samples = [
      '0',
      '0.5',
      '0.50',
      '1',
      '10',
      '1.5',
      '12.34',
      '250.67',
      '9999999999.99',
      '10000000000.00',
      '007.10',
      '1.',
      '.5',
      '1.234',
    ];
    for (let i = 0; i < 2000; i++) {
      const fraction = String(Math.floor(next() * 1000)).slice(0, Math.floor(next() * 4));
      samples.push(`${Math.floor(next() * 10 ** Math.ceil(next() * 12))}${fraction ? `.${fraction}` : ''}`);
    }
    for (const type of ['numeric', 'numeric(12,2)', 'numeric(5)', 'numeric(3,3)'])
      for (const text of samples) {
        const fast = copyText(type, text);
        const general = copyText(type, ` ${text}`);
        expect(fast?.startsWith('rejected')).toBe(general?.startsWith('rejected'));
        if (!fast?.startsWith('rejected')) expect(fast).toBe(general);
      }
  });

  it('keeps canonical text as is and still rejects what PostgreSQL would not store', () => {
    expect(copyText('date', '2024-03-05')).toBe('2024-03-05');
    expect(copyText('date', '0000-01-01')).toMatch(/^rejected: .*year 0 is outside 1-9999/);
    expect(copyText('timestamp', '2024-03-05 06:07:08')).toBe('2024-03-05 06:07:08');
    expect(copyText('timestamp', '2024-03-05T06:07:08')).toBe('2024-03-05 06:07:08');
    expect(copyText('timestamptz', '2024-03-05 06:07:08')).toBe('2024-03-05 06:07:08+00');
  });
});
