import { describe, expect, it } from 'vitest';
import { listConnectors } from '../../../bin/cli/connector-listing.js';
import { parseBackfillWindow } from '../../../bin/cli/connectors.js';

describe('sluice connectors', () => {
  it('lists every built-in source with the JSON Schema of its config', () => {
    const listed = listConnectors();

    expect(listed.map((c) => `${c.kind}:${c.name}`)).toEqual(
      expect.arrayContaining([
        'source:files',
        'source:postgres',
        'source:mysql',
        'source:http',
        'source:parquet',
      ]),
    );
    const postgres = listed.find((c) => c.name === 'postgres');
    expect(postgres?.origin).toBe('functions/connectors/postgres');
    expect(postgres?.configSchema).toMatchObject({
      type: 'object',
      required: ['connection'],
      properties: { table: { type: 'string' }, key: { type: 'string' } },
    });
  });
});

describe('parseBackfillWindow', () => {
  it('splits from..to', () => {
    expect(parseBackfillWindow('2026-01-01..2026-02-01')).toEqual({ from: '2026-01-01', to: '2026-02-01' });
    expect(parseBackfillWindow('2026-01-01 10:00:00+00..2026-01-01 11:00:00+00')).toEqual({
      from: '2026-01-01 10:00:00+00',
      to: '2026-01-01 11:00:00+00',
    });
  });

  it('fails when a side is missing', () => {
    expect(() => parseBackfillWindow('2026-01-01..')).toThrow(
      'expected <from>..<to>, e.g. 2026-01-01..2026-02-01, got "2026-01-01.."',
    );
  });
});
