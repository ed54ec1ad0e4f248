const NEEDS_QUOTES = /[",\r\n]/;

/**
 * Encodes one row as a line of PostgreSQL `COPY ... (FORMAT csv)` with the default NULL (an unquoted
 * empty field): null is written as nothing, an empty string as `""`, and values holding a comma,
 * quote, CR or LF are quoted with inner quotes doubled. `\.` is quoted too, so it can never read as
 * the end-of-data marker. The line ends with `\n`.
 * @example encodeCopyCsvLine(['1', null, '', 'say "hi"']) // '1,,"","say ""hi"""\n'
 */
export function encodeCopyCsvLine(values: readonly (string | null)[]): string {
  return `${encodeCopyCsvFields(values)}\n`;
}

/** encodeCopyCsvLine without the line break, for callers that append more fields. */
export function encodeCopyCsvFields(values: readonly (string | null)[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += ',';
    const value = values[i];
    if (value === null || value === undefined) continue;
    if (value === '') line += '""';
    else if (NEEDS_QUOTES.test(value)) line += `"${value.replaceAll('"', '""')}"`;
    else if (value === '\\.') line += '"\\."';
    else line += value;
  }
  return line;
}
