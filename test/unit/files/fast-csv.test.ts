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
function csvParse(text: string, delimiter = ','): string[][] | undefined {
  try {
    return parse(text, csvParseOptions({ ...config, csv: { ...config.csv, delimiter } }));
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
    // Unquoted fields end at the next delimiter or LF found with indexOf, kept while i has not passed
    // them: these put the next quote, LF or delimiter records ahead, or behind a quoted field.
    ['quoted fields in later records only', 'a,b\nc,d\ne,"f"\n'],
    ['a quoted line break, then unquoted fields', '"x\ny",b,c\nd,e,f\n'],
    ['a quoted delimiter, then unquoted fields', '"x,y",b,c\nd,"e,",f\n'],
    ['a quoted field last in its record', 'a,"b"\r\nc,d\r\n'],
    ['the last field has no line break and no delimiter after it', 'a,b\nc'],
    ['a CR at the very end is data', 'a,b\r'],
    ['a BOM is data (the reader strips it before)', '\ufeffa,b\n'],
    ['empty vs quoted empty in every position', ',"",\n"",,""\n'],
  ])('reads %s exactly as csv-parse does', (_name, text) => {
    expect(parseCsvFast(text, COMMA, QUOTE)).toEqual(csvParse(text));
  });

  it.each([
    ['a stray quote in an unquoted field', 'a,b"c,d\n'],
    ['text after a closing quote', '"a"b,c\n'],
    ['a quote that never closes', 'a,"bc\nd,e\n'],
    ['a CR after a closing quote', '"a"\rb\n'],
    ['a stray quote records after a clean one', 'a,b\nc,d\ne,f"g\n'],
    ['a stray quote after a quoted line break', '"a\nb",c\nd,e"\n'],
  ])('gives up on %s, so csv-parse can say what is wrong', (_name, text) => {
    expect(parseCsvFast(text, COMMA, QUOTE)).toBeUndefined();
  });

  it.each([
    ['a tab', '\t', 0x09],
    ['a semicolon', ';', 0x3b],
  ])('reads fields split by %s exactly as csv-parse does', (_name, delimiter, code) => {
    const text = 'a\tb;c,d\n"e\tf";"g;h"\t,\r\n\n;;\t\t\n';
    expect(parseCsvFast(text, code, QUOTE)).toEqual(csvParse(text, delimiter));
  });

  it('agrees with csv-parse on random multi-record text, where quotes and line breaks are records apart', () => {
    let seed = 11;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    // Mostly plain text, so a quote or line break is often several fields or records from the last.
    // Inside quotes: any of these, a doubled quote included; outside: a stray quote one time in 300.
    const alphabet = ['a', 'b', 'c', 'd', ',', ',', ',', '\n', '\n', '\r\n', '""', ' ', 'é'];
    let read = 0;
    for (let n = 0; n < 3000; n++) {
      let text = '';
      const length = Math.floor(random() * 120);
      for (let i = 0; i < length; i++) {
        const what = random();
        const char = alphabet[Math.floor(random() * alphabet.length)]!;
        if (what < 0.003) text += '"';
        else if (what < 0.1 && (text === '' || text.endsWith(',') || text.endsWith('\n')))
          text += `"${char}a,"`;
        else text += char === '""' ? 'q' : char;
      }
      const fast = parseCsvFast(text, COMMA, QUOTE);
      if (fast === undefined) expect({ text, parsed: csvParse(text) }).toEqual({ text, parsed: undefined });
      else {
        read++;
        expect({ text, fields: fast }).toEqual({ text, fields: csvParse(text) });
      }
    }
    expect(read).toBeGreaterThan(500);
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
