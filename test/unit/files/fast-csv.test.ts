import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { FilesSourceConfig } from '../../../functions/connectors/files/config.js';
import { csvParseOptions } from '../../../functions/connectors/files/csv-dialect.js';
import { parseCsvFast } from '../../../functions/connectors/files/fast-csv.js';

const COMMA = 0x2c;
const QUOTE = 0x22;
const config = {
  format: 'csv',
  csv: { delimiter: ',', quote: '"', escape: '"', header: true, encoding: 'utf8' },
} as FilesSourceConfig;

/** What the reader would get from csv-parse, or undefined where csv-parse refuses the text. */
function csvParse(text: string): string[][] | undefined {
  try {
    return parse(text, csvParseOptions(config));
  } catch {
    return undefined;
  }
}

describe('parseCsvFast', () => {
  it.each([
    ['plain fields', 'a,b,c\n1,2,3\n'],
    ['CRLF record ends', 'a,b\r\n1,2\r\n'],
    ['no line break at the end', 'a,b\n1,2'],
    ['empty fields and a trailing delimiter', ',,\na,,\n,\n'],
    ['empty lines are skipped', '\n\na,b\n\r\n\nc,d\n'],
    ['quoted delimiters, quotes and line breaks', '"a,b","say ""hi""","two\nlines","cr\r\nlf"\n'],
    ['a quoted empty field', '"",x,""\n'],
    ['a lone CR is data', 'a\rb,c\n'],
    ['blanks are kept', ' a , b \n   \n'],
    ['unicode', 'naïve,日本,"ü,ß"\n'],
  ])('reads %s exactly as csv-parse does', (_name, text) => {
    expect(parseCsvFast(text, COMMA, QUOTE)).toEqual(csvParse(text));
  });

  it.each([
    ['a stray quote in an unquoted field', 'a,b"c,d\n'],
    ['text after a closing quote', '"a"b,c\n'],
    ['a quote that never closes', 'a,"bc\nd,e\n'],
    ['a CR after a closing quote', '"a"\rb\n'],
  ])('gives up on %s, so csv-parse can say what is wrong', (_name, text) => {
    expect(parseCsvFast(text, COMMA, QUOTE)).toBeUndefined();
  });

  it('agrees with csv-parse on random CSV-like text (or gives up where csv-parse fails)', () => {
    let seed = 7;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const alphabet = ['a', 'b', ',', '"', '\n', '\r', ' ', 'é'];
    for (let n = 0; n < 5000; n++) {
      let text = '';
      const length = Math.floor(random() * 24);
      for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
      const fast = parseCsvFast(text, COMMA, QUOTE);
      if (fast !== undefined) expect({ text, fields: fast }).toEqual({ text, fields: csvParse(text) });
    }
  });
});
