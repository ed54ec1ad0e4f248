import { describe, expect, it } from 'vitest';
import { compareCursor } from '../../../functions/connectors/http/connector.js';
import { parseNextLink, retryAfter } from '../../../functions/connectors/http/fetch-json.js';

describe('retryAfter', () => {
  it('reads seconds', () => {
    expect(retryAfter('3')).toBe(3000);
  });

  it('reads an HTTP date as the time until then', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');

    expect(retryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
  });

  it('gives undefined for a missing or unreadable header', () => {
    expect(retryAfter(null)).toBeUndefined();
    expect(retryAfter('soon')).toBeUndefined();
  });
});

describe('parseNextLink', () => {
  it('finds rel="next" among other links and resolves it against the request', () => {
    const header = '</items?page=1>; rel="first", </items?page=3>; rel="next", </items?page=9>; rel="last"';

    expect(parseNextLink(header, 'https://api.example.com/items?page=2')).toBe(
      'https://api.example.com/items?page=3',
    );
  });

  it('gives undefined on the last page', () => {
    expect(parseNextLink('</items?page=1>; rel="first"', 'https://api.example.com/items')).toBeUndefined();
  });
});

describe('compareCursor', () => {
  it('compares numbers as numbers', () => {
    expect(compareCursor(9, '10')).toBeLessThan(0);
  });

  it('compares timestamps as instants, whatever their spelling', () => {
    expect(compareCursor('2026-01-05T08:10:00.000Z', '2026-01-05T08:10:00Z')).toBe(0);
    expect(compareCursor('2026-01-05T09:00:00+01:00', '2026-01-05T08:30:00Z')).toBeLessThan(0);
  });
});
