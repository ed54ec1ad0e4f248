import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  type InitColumn,
  suggestCursor,
  suggestKey,
  suggestPartition,
} from '../../../bin/cli/init/choose.js';
import { detectDelimiter } from '../../../bin/cli/init/from-files.js';
import { initPipeline, partitioningIsOptional } from '../../../bin/cli/init/index.js';
import { renderSpec } from '../../../bin/cli/init/render.js';

const column = (name: string, type: string, more: Partial<InitColumn> = {}): InitColumn => ({
  source: name,
  name,
  type,
  nullable: false,
  distinct: false,
  ...more,
});

describe('sluice init: key, cursor and partition suggestions', () => {
  it('prefers the primary key, then id, then <table>_id, then other *_id columns', () => {
    const columns = [
      column('customer_id', 'integer', { distinct: true }),
      column('orders_id', 'integer', { distinct: true }),
      column('id', 'bigint', { distinct: true }),
    ];
    expect(suggestKey(columns, 'orders', ['customer_id'])).toEqual(['customer_id']);
    expect(suggestKey(columns, 'orders')).toEqual(['id']);
    expect(suggestKey(columns.slice(0, 2), 'orders')).toEqual(['orders_id']);
    expect(suggestKey(columns.slice(0, 1), 'orders')).toEqual(['customer_id']);
  });

  it('suggests no key when no column is both distinct and never empty', () => {
    expect(suggestKey([column('id', 'integer', { distinct: false })], 't')).toBeUndefined();
    expect(suggestKey([column('id', 'integer', { distinct: true, nullable: true })], 't')).toBeUndefined();
    expect(suggestKey([column('comment', 'text', { distinct: true })], 't')).toBeUndefined();
  });

  it('takes a unique text column only when its name says it is a code (zip, sku, *_code)', () => {
    expect(suggestKey([column('zip', 'text', { distinct: true })], 'zips')).toEqual(['zip']);
    expect(suggestKey([column('country_code', 'varchar(2)', { distinct: true })], 'c')).toEqual([
      'country_code',
    ]);
    expect(suggestKey([column('city', 'text', { distinct: true })], 'zips')).toBeUndefined();
  });

  it('partitions by a non-null date before a timestamp, never by the cursor, and by updated_at last', () => {
    const columns = [
      column('updated_at', 'timestamptz'),
      column('created_at', 'timestamptz'),
      column('day', 'date', { nullable: true }),
    ];
    expect(suggestCursor(columns)?.name).toBe('updated_at');
    expect(suggestPartition(columns, 'updated_at')?.name).toBe('created_at');
    expect(suggestPartition([...columns, column('order_date', 'date')])?.name).toBe('order_date');
    expect(suggestPartition([column('updated_at', 'timestamp')])?.name).toBe('updated_at');
    expect(suggestPartition([column('updated_at', 'timestamp')], 'updated_at')).toBeUndefined();
  });
});

describe('sluice init: the CSV delimiter', () => {
  it('picks the delimiter that splits every record of the head alike', () => {
    expect(detectDelimiter('a,b;c\n1,2;3\n')).toBe(',');
    expect(detectDelimiter('a;b;c\n1;"x;y";3\n')).toBe(';');
    expect(detectDelimiter('a\tb\n1\t2\n')).toBe('\t');
    expect(detectDelimiter('a|b|c\n1|2|3\n4|5')).toBe('|');
  });

  it('is not misled by a malformed record', () => {
    expect(detectDelimiter('a;b\n1;x "y" z\n2;3\n')).toBe(';');
  });

  it('says comma for a one-column file', () => {
    expect(detectDelimiter('name\nAnn\n')).toBe(',');
  });
});

describe('sluice init: the spec text', () => {
  it('quotes source names that YAML would misread, and keeps comments on one line', () => {
    const hostile = ['a: b', '# not a comment', 'line\nbreak', 'yes', 'quote " \\ back'];
    const text = renderSpec({
      name: 'hostile',
      header: ['made by a test'],
      source: { connector: 'files', config: { location: 'data', format: 'csv' } },
      sourceNotes: [],
      table: 'hostile',
      columns: hostile.map((source, i) => ({ ...column(`c_${i}`, 'text'), source })),
    });
    const spec = parse(text) as { transforms: [{ rename: Record<string, string> }] };
    expect(Object.keys(spec.transforms[0].rename)).toEqual(hostile);
    expect(text).not.toMatch(/# from "line\n/);
  });
});

describe('sluice init: refusals', () => {
  function folder(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-init-unit-'));
    mkdirSync(join(dir, 'pipelines', 'data'), { recursive: true });
    for (const [name, text] of Object.entries(files))
      writeFileSync(join(dir, 'pipelines', 'data', name), text);
    return dir;
  }

  it('fails when the pipeline name is not kebab-case', async () => {
    await expect(initPipeline({ name: 'My Sales', from: '.' })).rejects.toThrow(
      'pipeline name "My Sales" must be kebab-case',
    );
  });

  it('fails when a folder holds files of several formats, naming them', async () => {
    const dir = folder({ 'a.csv': 'id\n1\n', 'b.jsonl': '{"id":1}\n' });
    await expect(
      initPipeline({
        name: 'mixed',
        from: join(dir, 'pipelines', 'data'),
        out: join(dir, 'pipelines', 'mixed.yaml'),
      }),
    ).rejects.toThrow('holds files of several formats (1 csv, 1 jsonl)');
  });

  it('fails when the source has no rows, naming the file', async () => {
    const dir = folder({ 'empty.jsonl': '' });
    await expect(
      initPipeline({
        name: 'empty',
        from: join(dir, 'pipelines', 'data'),
        out: join(dir, 'pipelines', 'empty.yaml'),
      }),
    ).rejects.toThrow('empty.jsonl has no records to read its columns from');
  });

  it('names columns whose header a spec cannot mention (constructor, prototype) in csv.columns', async () => {
    const dir = folder({ 'odd.csv': 'id,constructor,prototype,day\n1,a,b,2026-01-01\n' });
    const { text } = await initPipeline({
      name: 'odd',
      from: join(dir, 'pipelines', 'data', 'odd.csv'),
      out: join(dir, 'pipelines', 'odd.yaml'),
    });
    expect((parse(text) as { source: { config: { csv: unknown } } }).source.config.csv).toEqual({
      columns: ['id', 'constructor_', 'prototype_', 'day'],
    });
  });

  it('fails when a JSON record has a key a spec cannot mention, naming it', async () => {
    const dir = folder({ 'odd.jsonl': '{"id": 1, "constructor": "x", "day": "2026-01-01"}\n' });
    await expect(
      initPipeline({
        name: 'odd',
        from: join(dir, 'pipelines', 'data'),
        out: join(dir, 'pipelines', 'odd.yaml'),
      }),
    ).rejects.toThrow('has a column named "constructor", which a spec cannot name');
  });

  it('without a date column: no partitioning where the spec allows it, else a refusal saying why', async () => {
    const dir = folder({ 'zips.csv': 'zip,city\n01234,Ashby\n90210,Beverly Hills\n' });
    const run = initPipeline({
      name: 'zips',
      from: join(dir, 'pipelines', 'data', 'zips.csv'),
      out: join(dir, 'pipelines', 'zips.yaml'),
    });
    if (partitioningIsOptional()) {
      const { text } = await run;
      expect(text).toContain('# partitioning: none');
      expect(text).toContain('zip: { type: text, nullable: false }');
    } else {
      await expect(run).rejects.toThrow(
        'has no date or timestamp column that is never empty, and this Sluice needs one to partition the table by',
      );
    }
  });
});

describe('sluice init: compressed and tab-separated files', () => {
  it('reads the header and delimiter of a gzipped TSV file, and the spec it writes reads it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-init-unit-'));
    mkdirSync(join(dir, 'pipelines', 'data'), { recursive: true });
    const rows = Array.from(
      { length: 5000 },
      (_, i) => `${i + 1}\t2026-01-${String((i % 28) + 1).padStart(2, '0')}\t${i % 2 ? 'y' : 'n'}`,
    );
    writeFileSync(
      join(dir, 'pipelines', 'data', 'flags.tsv.gz'),
      gzipSync(`id\tday\tflag\n${rows.join('\n')}\n`),
    );

    const { text } = await initPipeline({
      name: 'flags',
      from: join(dir, 'pipelines', 'data', 'flags.tsv.gz'),
      out: join(dir, 'pipelines', 'flags.yaml'),
    });

    const spec = parse(text) as {
      source: { config: Record<string, unknown> };
      destination: { columns: unknown };
    };
    expect(spec.source.config).toEqual({
      location: 'data',
      pattern: 'flags.tsv.gz',
      format: 'csv',
      csv: { delimiter: '\t' },
    });
    expect(spec.destination.columns).toEqual({
      id: { type: 'integer', nullable: false },
      day: { type: 'date', nullable: false },
      flag: { type: 'boolean', nullable: false },
    });
  });
});
