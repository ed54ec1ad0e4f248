import { describe, expect, it } from 'vitest';
import { filesConfig, plan, readPlanned } from './helpers.js';

/**
 * A file written with another delimiter than the configured one has a header of one field: reading it
 * would reject every row ("has 2 fields, the header has 1"). The plan fails once instead, saying which
 * delimiter to set.
 */
describe('a CSV file read with the wrong delimiter', () => {
  it('fails when a ;-delimited file is read as comma-separated, suggesting the delimiter', async () => {
    const planning = plan(filesConfig({ pattern: 'semicolon.csv', format: 'csv' }));

    await expect(planning).rejects.toThrow(
      'semicolon.csv: the header has one field, "id;name;amount", which ";" would split into 3: the file looks ";"-delimited, not ","-delimited; set `csv: { delimiter: ";" }` in source.config (if it really has one column named so, name it in csv.columns)',
    );
  });

  it('fails when a tab- or |-delimited file is read as comma-separated', async () => {
    await expect(plan(filesConfig({ pattern: 'tab-delimited.csv', format: 'csv' }))).rejects.toThrow(
      'set `csv: { delimiter: "\\t" }` in source.config',
    );
    await expect(plan(filesConfig({ pattern: 'pipe-delimited.csv', format: 'csv' }))).rejects.toThrow(
      'set `csv: { delimiter: "|" }` in source.config',
    );
  });

  it('fails when a comma-separated file is read with delimiter ";"', async () => {
    const planning = plan(filesConfig({ pattern: 'ragged.csv', format: 'csv', csv: { delimiter: ';' } }));

    await expect(planning).rejects.toThrow('set `csv: { delimiter: "," }`');
  });

  it('reads the file once the delimiter is set', async () => {
    const config = filesConfig({ pattern: 'tab-delimited.csv', format: 'csv', csv: { delimiter: '\t' } });

    const records = await readPlanned(config, await plan(config));

    expect(records).toEqual([
      { kind: 'row', row: { id: '1', name: 'alice', amount: '10.50' }, location: 'tab-delimited.csv:2' },
    ]);
  });

  it('reads a one-column file whose column name has a ";" when csv.columns names it', async () => {
    const config = filesConfig({
      pattern: 'one-column-with-semicolon.csv',
      format: 'csv',
      csv: { columns: ['a;b'] },
    });

    const records = await readPlanned(config, await plan(config));

    expect(records).toEqual([
      { kind: 'row', row: { 'a;b': 'x;y' }, location: 'one-column-with-semicolon.csv:2' },
    ]);
  });
});
