import { describe, expect, it } from 'vitest';
import { encodeCopyCsvFields, encodeCopyCsvLine } from '../../../functions/engine/validate/index.js';

describe('encodeCopyCsvLine', () => {
  it('writes plain values unquoted, separated by commas, ending with a newline', () => {
    expect(encodeCopyCsvLine(['1', 'Ada', '2026-01-01'])).toBe('1,Ada,2026-01-01\n');
  });

  it('writes NULL as nothing and an empty string as a quoted empty field', () => {
    expect(encodeCopyCsvLine([null, '', null])).toBe(',"",\n');
  });

  it('quotes values holding commas, quotes, CR or LF, doubling inner quotes', () => {
    expect(encodeCopyCsvLine(['a,b', 'say "hi"', 'line1\nline2', 'cr\r'])).toBe(
      '"a,b","say ""hi""","line1\nline2","cr\r"\n',
    );
  });

  it('quotes the end-of-data marker so it reads as data', () => {
    expect(encodeCopyCsvLine(['\\.'])).toBe('"\\."\n');
  });

  it('leaves backslashes and surrounding blanks as they are (CSV gives them no meaning)', () => {
    expect(encodeCopyCsvLine(['C:\\temp', ' padded '])).toBe('C:\\temp, padded \n');
  });
});

describe('encodeCopyCsvFields', () => {
  it('is the COPY line without its line break, so the staged row can take its seq and ordinal', () => {
    const values = ['1', null, '', 'say "hi"'];
    expect(`${encodeCopyCsvFields(values)},3,17\n`).toBe('1,,"","say ""hi""",3,17\n');
    expect(`${encodeCopyCsvFields(values)}\n`).toBe(encodeCopyCsvLine(values));
  });
});
