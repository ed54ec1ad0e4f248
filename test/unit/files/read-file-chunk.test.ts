import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import { MAX_RECORD_BYTES } from '../../../functions/connectors/files/csv-dialect.js';
import { readFileChunk } from '../../../functions/connectors/files/read.js';
import { ObjectChangedError } from '../../../functions/engine/ports/storage.js';
import { filesConfig, plan, readAllRecords, readPlanned } from './helpers.js';

const rows = (records: Awaited<ReturnType<typeof readAllRecords>>) =>
  records.map((r) => (r.kind === 'row' ? { row: r.row, location: r.location } : r));

describe('readFileChunk on CSV', () => {
  it('keeps quoted delimiters, doubled quotes and newlines inside their field', async () => {
    const records = await readAllRecords({ pattern: 'quoted-newlines.csv', format: 'csv' });

    expect(rows(records)).toEqual([
      { row: { id: '1', name: 'alice', note: 'plain' }, location: 'quoted-newlines.csv:2' },
      { row: { id: '2', name: 'bob, jr', note: 'said "hi"\nthen left' }, location: 'quoted-newlines.csv:3' },
      { row: { id: '3', name: 'carol', note: 'a,b\n\nc' }, location: 'quoted-newlines.csv:5' },
      { row: { id: '4', name: 'dave', note: '' }, location: 'quoted-newlines.csv:8' },
    ]);
  });

  it('reads CRLF files, keeping a quoted CRLF in the value', async () => {
    const records = await readAllRecords({ pattern: 'crlf.csv', format: 'csv' });

    expect(rows(records)).toEqual([
      { row: { id: '1', name: 'alice', note: 'two\r\nlines' }, location: 'crlf.csv:2' },
      { row: { id: '2', name: 'bob', note: 'plain' }, location: 'crlf.csv:4' },
    ]);
  });

  it('strips a UTF-8 BOM from the first header name', async () => {
    const config = filesConfig({ pattern: 'bom.csv', format: 'csv' });
    const planned = await plan(config);

    expect(planned.chunks[0]?.source.header).toEqual(['id', 'name']);
    expect(rows(await readPlanned(config, planned))).toEqual([
      { row: { id: '1', name: 'alice' }, location: 'bom.csv:2' },
      { row: { id: '2', name: 'bob' }, location: 'bom.csv:3' },
    ]);
  });

  it('uses the configured delimiter', async () => {
    const records = await readAllRecords({
      pattern: 'semicolon.csv',
      format: 'csv',
      csv: { delimiter: ';' },
    });

    expect(records.map((r) => r.kind === 'row' && r.row)).toEqual([
      { id: '1', name: 'alice', amount: '10,50' },
      { id: '2', name: 'b;ob', amount: '7' },
    ]);
  });

  it('uses csv.columns for a file without a header, from line 1', async () => {
    const records = await readAllRecords({
      pattern: 'no-header.csv',
      format: 'csv',
      csv: { header: false, columns: ['id', 'name', 'amount'] },
    });

    expect(rows(records)).toEqual([
      { row: { id: '1', name: 'alice', amount: '10' }, location: 'no-header.csv:1' },
      { row: { id: '2', name: 'bob', amount: '20' }, location: 'no-header.csv:2' },
    ]);
  });

  it('quarantines ragged rows with the field counts as reason', async () => {
    const records = await readAllRecords({ pattern: 'ragged.csv', format: 'csv' });

    expect(records).toEqual([
      { kind: 'row', row: { id: '1', name: 'alice', amount: '10' }, location: 'ragged.csv:2' },
      {
        kind: 'unparseable',
        raw: '2,bob',
        location: 'ragged.csv:3',
        reason: 'has 2 fields, the header has 3',
      },
      {
        kind: 'unparseable',
        raw: '3,carol,30,extra',
        location: 'ragged.csv:4',
        reason: 'has 4 fields, the header has 3',
      },
      { kind: 'row', row: { id: '4', name: 'dave', amount: '40' }, location: 'ragged.csv:5' },
    ]);
  });

  it('quarantines the rest of the chunk as one record when a quote is never closed', async () => {
    const records = await readAllRecords({ pattern: 'unbalanced-quote.csv', format: 'csv' });

    expect(records).toHaveLength(2);
    expect(records[0]).toEqual({
      kind: 'row',
      row: { id: '1', name: 'alice', amount: '10' },
      location: 'unbalanced-quote.csv:2',
    });
    expect(records[1]).toMatchObject({
      kind: 'unparseable',
      raw: '2,"bob,20\n3,carol,30',
      location: 'unbalanced-quote.csv:3',
      reason: expect.stringMatching(/^Quote Not Closed/),
    });
  });

  it('quarantines only the broken record when a quote is misplaced, with its file line', async () => {
    const records = await readAllRecords({ pattern: 'stray-quote.csv', format: 'csv' });

    expect(records.map((r) => r.kind)).toEqual(['row', 'unparseable', 'row']);
    expect(records[1]).toMatchObject({
      raw: '2,"bob"x,20',
      location: 'stray-quote.csv:3',
      reason: expect.stringMatching(/^Invalid Closing Quote: got "x" at line 3/),
    });
    expect(records[2]).toMatchObject({ row: { id: '3' }, location: 'stray-quote.csv:4' });
  });

  it('quarantines a row with invalid UTF-8 and keeps its neighbours', async () => {
    const records = await readAllRecords({ pattern: 'invalid-utf8.csv', format: 'csv' });

    expect(records).toEqual([
      { kind: 'row', row: { id: '1', name: 'alice' }, location: 'invalid-utf8.csv:2' },
      { kind: 'unparseable', raw: '2,b\uFFFDb', location: 'invalid-utf8.csv:3', reason: 'invalid UTF-8' },
      { kind: 'row', row: { id: '3', name: 'café' }, location: 'invalid-utf8.csv:4' },
    ]);
  });

  it('decodes latin1 when csv.encoding says so', async () => {
    const records = await readAllRecords({
      pattern: 'latin1.csv',
      format: 'csv',
      csv: { encoding: 'latin1' },
    });

    expect(records).toEqual([{ kind: 'row', row: { id: '1', name: 'café' }, location: 'latin1.csv:2' }]);
  });

  it('skips blank lines without counting them, and keeps physical line numbers', async () => {
    const records = await readAllRecords({ pattern: 'blank-lines.csv', format: 'csv' });

    expect(rows(records)).toEqual([
      { row: { id: '1', name: 'alice' }, location: 'blank-lines.csv:2' },
      { row: { id: '2', name: 'bob' }, location: 'blank-lines.csv:4' },
      { row: { id: '3', name: 'carol' }, location: 'blank-lines.csv:6' },
    ]);
  });

  it('reads a last record without a line break', async () => {
    const records = await readAllRecords({ pattern: 'no-trailing-newline.csv', format: 'csv' });

    expect(records.map((r) => r.kind === 'row' && r.row.name)).toEqual(['alice', 'bob']);
  });

  it('honours an escape character other than the quote', async () => {
    const records = await readAllRecords({
      pattern: 'escape-backslash.csv',
      format: 'csv',
      csv: { escape: '\\' },
    });

    expect(rows(records)).toEqual([
      { row: { id: '1', text: 'say "hi"\nnow' }, location: 'escape-backslash.csv:2' },
      { row: { id: '2', text: 'back\\slash' }, location: 'escape-backslash.csv:4' },
    ]);
  });

  it('reads a gzip CSV as one chunk and skips its header', async () => {
    const records = await readAllRecords({ pattern: 'orders.csv.gz', format: 'csv' });

    expect(rows(records)).toEqual([
      { row: { id: '1', name: 'alice', note: 'multi\nline' }, location: 'orders.csv.gz:2' },
      { row: { id: '2', name: 'bob', note: 'x' }, location: 'orders.csv.gz:4' },
    ]);
  });

  it('recognises gzip by its magic bytes when the name does not say so', async () => {
    const records = await readAllRecords({ pattern: 'sniffed-gzip.csv', format: 'csv' });

    expect(records).toEqual([
      { kind: 'row', row: { id: '1', name: 'alice' }, location: 'sniffed-gzip.csv:2' },
    ]);
  });
});

describe('readFileChunk on JSON Lines', () => {
  it('parses objects, skips blank lines and quarantines broken lines with a reason', async () => {
    const records = await readAllRecords({ pattern: 'events.jsonl', format: 'jsonl' });

    expect(records).toEqual([
      { kind: 'row', row: { id: 1, kind: 'a' }, location: 'events.jsonl:1' },
      {
        kind: 'unparseable',
        raw: '{"id":2,"kind":',
        location: 'events.jsonl:3',
        reason: expect.stringMatching(/^invalid JSON: /),
      },
      {
        kind: 'unparseable',
        raw: '[1,2]',
        location: 'events.jsonl:4',
        reason: 'is an array, not a JSON object',
      },
      { kind: 'row', row: { id: 3, kind: 'c' }, location: 'events.jsonl:5' },
      {
        kind: 'unparseable',
        raw: '"text"',
        location: 'events.jsonl:7',
        reason: 'is a string, not a JSON object',
      },
      { kind: 'row', row: { id: 4, nested: { x: [1, 2] } }, location: 'events.jsonl:8' },
    ]);
  });

  it('quarantines a line with invalid UTF-8', async () => {
    const records = await readAllRecords({ pattern: 'invalid-utf8.jsonl', format: 'jsonl' });

    expect(records.map((r) => (r.kind === 'row' ? r.row : r.reason))).toEqual([
      { id: 1 },
      'invalid UTF-8',
      { id: 3 },
    ]);
  });

  it('reads a gzip JSON Lines file', async () => {
    const records = await readAllRecords({ pattern: 'events.jsonl.gz', format: 'jsonl' });

    expect(records.map((r) => (r.kind === 'row' ? r.row : r.location))).toEqual([
      { id: 1 },
      { id: 2 },
      'events.jsonl.gz:3',
    ]);
  });
});

describe('readFileChunk safety', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('fails when the file changed since it was planned', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-read-'));
    await writeFile(path.join(dir, 'a.csv'), 'id\n1\n');
    const storage = new FolderStorage(dir);
    const config = filesConfig({ location: dir, pattern: '*.csv', format: 'csv' });
    const planned = await plan(config, 1 << 20, storage);
    await writeFile(path.join(dir, 'a.csv'), 'id\n2\n3\n');

    const reading = readPlanned(config, planned, new FolderStorage(dir));

    await expect(reading).rejects.toBeInstanceOf(ObjectChangedError);
  });

  it('fails with the file named when gzip data is truncated', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-read-'));
    const storage = new FolderStorage(dir);
    const gz = await readFile(new URL('../../fixtures/files/orders.csv.gz', import.meta.url));
    await writeFile(path.join(dir, 'cut.csv.gz'), gz.subarray(0, gz.length - 10));
    const config = filesConfig({ location: dir, pattern: '*.gz', format: 'csv' });
    const planned = await plan(config, 1 << 20, storage).catch((error: Error) => error);
    if (planned instanceof Error) {
      // zlib may already fail while the planner reads the header: that is the same message, earlier.
      expect(planned.message).toMatch(/cut\.csv\.gz: gzip data is corrupt or truncated/);
      return;
    }

    const reading = (async () => {
      for await (const _ of readFileChunk(storage, config, planned.chunks[0]!.source)) void _;
    })();

    await expect(reading).rejects.toThrow(/cut\.csv\.gz: gzip data is corrupt or truncated/);
  });

  it('quarantines a never-closed quote with megabytes after it as one truncated record', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-read-'));
    const storage = new FolderStorage(dir);
    const tail = 'x,y,z\n'.repeat(Math.ceil((MAX_RECORD_BYTES + 1024) / 6));
    await writeFile(path.join(dir, 'big.csv'), `a,b,c\n1,2,3\n4,"5,6\n${tail}`);
    const config = filesConfig({ location: dir, pattern: 'big.csv', format: 'csv' });

    const records = await readPlanned(config, await plan(config, 1024, storage), storage);

    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ kind: 'row', location: 'big.csv:2' });
    expect(records[1]).toMatchObject({
      kind: 'unparseable',
      location: 'big.csv:3',
      reason: expect.stringContaining(`record is longer than ${MAX_RECORD_BYTES} bytes`),
    });
    expect((records[1] as { raw: string }).raw.length).toBeLessThan(70 * 1024);
  });

  it('quarantines an over-long JSON line and goes on with the next', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-read-'));
    const storage = new FolderStorage(dir);
    await writeFile(
      path.join(dir, 'big.jsonl'),
      `{"id":1}\n{"s":"${'x'.repeat(MAX_RECORD_BYTES + 256 * 1024)}"}\n{"id":3}\n`,
    );
    const config = filesConfig({ location: dir, pattern: 'big.jsonl', format: 'jsonl' });

    const records = await readPlanned(config, await plan(config, 1 << 30, storage), storage);

    expect(records.map((r) => (r.kind === 'row' ? r.row : r.location))).toEqual([
      { id: 1 },
      'big.jsonl:2',
      { id: 3 },
    ]);
  });
});
