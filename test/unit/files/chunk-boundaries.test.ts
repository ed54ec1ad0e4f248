import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { SourceRecord } from '../../../functions/engine/types.js';
import { FIXTURES, filesConfig, fixtures, plan, readPlanned, trickle } from './helpers.js';

/**
 * The oracle: csv-parse over the whole file at once. A record's physical lines are its line break
 * plus the newlines inside its (quoted) values; the fixtures have no blank lines and a one-line header.
 */
async function parseWholeCsv(file: string): Promise<SourceRecord[]> {
  const text = await readFile(path.join(FIXTURES, file), 'utf8');
  const [header, ...data] = parse(text, { record_delimiter: ['\r\n', '\n'] });
  let line = 2;
  return data.map((record) => {
    const location = `${file}:${line}`;
    line += 1 + record.join('').split('\n').length - 1;
    return { kind: 'row', row: Object.fromEntries(header!.map((name, i) => [name, record[i]])), location };
  });
}

async function parseWholeJsonl(file: string): Promise<SourceRecord[]> {
  const lines = (await readFile(path.join(FIXTURES, file), 'utf8')).split('\n');
  return lines.flatMap((line, i) =>
    line.trim() === '' ? [] : [{ kind: 'row' as const, row: JSON.parse(line), location: `${file}:${i + 1}` }],
  );
}

describe('chunk boundaries', () => {
  for (const file of ['multiline-lf.csv', 'multiline-crlf.csv']) {
    for (const targetBytes of [1, 200, 777, 1 << 20]) {
      it(`reads ${file} cut at ~${targetBytes} bytes exactly as one whole parse: nothing lost, split or doubled`, async () => {
        const config = filesConfig({ pattern: file, format: 'csv' });
        const expected = await parseWholeCsv(file);

        const planned = await plan(config, targetBytes);
        const records = await readPlanned(config, planned);

        expect(expected.length).toBe(400);
        expect(records).toEqual(expected);
        if (targetBytes === 200) expect(planned.chunks.length).toBeGreaterThan(40);
        if (targetBytes === 1) expect(planned.chunks.length).toBe(400);
      });
    }

    it(`cuts ${file} into contiguous ranges that start on the line their first record is on`, async () => {
      const config = filesConfig({ pattern: file, format: 'csv' });
      const expected = await parseWholeCsv(file);
      const size = (await fixtures.head(file))!.size;

      const planned = await plan(config, 200);

      const sources = planned.chunks.map((c) => c.source);
      expect(sources[0]!.start).toBe('id,a,b,c\n'.length + (file.includes('crlf') ? 1 : 0));
      expect(sources.at(-1)!.end).toBe(size);
      for (let i = 1; i < sources.length; i++) expect(sources[i]!.start).toBe(sources[i - 1]!.end);
      for (const chunk of planned.chunks) {
        expect(chunk.bytes).toBe(chunk.source.end - chunk.source.start);
        const firstRecord = expected.find((r) => r.location === `${file}:${chunk.source.firstLine}`);
        expect(firstRecord, `a record starts on line ${chunk.source.firstLine}`).toBeDefined();
      }
    });

    it(`reads ${file} the same when the bytes arrive in pieces of 1 to 7 bytes`, async () => {
      const config = filesConfig({ pattern: file, format: 'csv' });
      const storage = trickle(fixtures, 7);

      const planned = await plan(config, 300, storage);

      expect(planned).toEqual(await plan(config, 300));
      expect(await readPlanned(config, planned, storage)).toEqual(await parseWholeCsv(file));
    });
  }

  it('cuts JSON Lines at line breaks with the right line numbers', async () => {
    const config = filesConfig({ pattern: 'many-lines.jsonl', format: 'jsonl' });

    const planned = await plan(config, 100);

    expect(planned.chunks.length).toBeGreaterThan(50);
    expect(await readPlanned(config, planned)).toEqual(await parseWholeJsonl('many-lines.jsonl'));
    expect(await readPlanned(config, planned, trickle(fixtures, 5))).toEqual(
      await parseWholeJsonl('many-lines.jsonl'),
    );
  });

  it('reads every fixture the same whatever the buffer boundaries', async () => {
    const good =
      '{quoted-newlines,crlf,bom,ragged,unbalanced-quote,stray-quote,invalid-utf8,latin1,blank-lines,header-only,empty,no-trailing-newline,sniffed-gzip}.csv';
    const cases: Record<string, unknown>[] = [
      { pattern: good, format: 'csv' },
      { pattern: good, format: 'csv', csv: { encoding: 'latin1' } },
      { pattern: 'escape-backslash.csv', format: 'csv', csv: { escape: '\\' } },
      { pattern: '*.jsonl', format: 'jsonl' },
      { pattern: '*.gz', format: 'jsonl' },
      { pattern: 'orders.csv.gz', format: 'csv' },
    ];
    for (const input of cases) {
      const config = filesConfig(input);
      const whole = await readPlanned(config, await plan(config, 64));
      expect(whole.length).toBeGreaterThan(0);
      for (const maxPiece of [1, 2, 3, 5]) {
        const storage = trickle(fixtures, maxPiece, maxPiece);
        const planned = await plan(config, 64, storage);

        expect(
          await readPlanned(config, planned, storage),
          `${JSON.stringify(input)} in ${maxPiece}-byte pieces`,
        ).toEqual(whole);
      }
    }
  });
});
