import { isUtf8 } from 'node:buffer';
import { type Options as CsvParseOptions, parse } from 'csv-parse/sync';
import type { FilesSourceConfig } from './config.js';
import { SourceError } from './errors.js';
import type { RecordScannerOptions } from './record-scanner.js';

/**
 * The longest record a reader buffers. A longer one is almost always a quote that is never closed; it
 * is quarantined as one unparseable record (with the first 64 KiB as its raw text) instead of being
 * held in memory.
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** How much of an oversized record its reject keeps. */
export const OVERSIZED_PREVIEW_BYTES = 64 * 1024;

/** Scanner settings for a config; quote and escape must be single bytes for byte-level scanning. */
export function scannerOptions(config: FilesSourceConfig): RecordScannerOptions {
  if (config.format === 'jsonl') return { format: 'jsonl' };
  const { quote, escape: esc, delimiter } = config.csv;
  for (const [name, value] of [
    ['quote', quote],
    ['escape', esc],
  ] as const) {
    if (value.length !== 1 || value.charCodeAt(0) > 0x7f || value === '\n' || value === '\r') {
      throw new SourceError(
        `csv.${name} must be one ASCII character other than a line break, got ${JSON.stringify(value)}`,
      );
    }
  }
  if (/[\r\n]/.test(delimiter) || delimiter.includes(quote)) {
    throw new SourceError(
      `csv.delimiter must not contain a line break or the quote, got ${JSON.stringify(delimiter)}`,
    );
  }
  return { format: 'csv', quote: quote.charCodeAt(0), escape: esc.charCodeAt(0) };
}

/**
 * csv-parse settings: strict RFC 4180 quoting, LF or CRLF record ends (a lone CR is data), empty
 * lines skipped, and ragged rows passed through so the reader rejects them with a reason.
 */
export function csvParseOptions(config: FilesSourceConfig): CsvParseOptions {
  return {
    delimiter: config.csv.delimiter,
    quote: config.csv.quote,
    escape: config.csv.escape,
    // The planner and reader strip the BOM before csv-parse sees bytes (data ranges start after it).
    bom: false,
    relax_quotes: false,
    relax_column_count: true,
    skip_empty_lines: true,
    record_delimiter: ['\r\n', '\n'],
  };
}

/** Text of a record without its line break. */
export function recordText(bytes: Buffer, encoding: 'utf8' | 'latin1'): string {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  return bytes.toString(encoding, 0, end);
}

/** A record that is only a line break: skipped, and not counted as read. */
export function isBlankRecord(bytes: Buffer, start = 0, end = bytes.length): boolean {
  const length = end - start;
  return (
    length === 0 ||
    (length === 1 && bytes[start] === 0x0a) ||
    (length === 2 && bytes[start] === 0x0d && bytes[start + 1] === 0x0a)
  );
}

/**
 * The column names of a CSV source for one file: config.csv.columns when given (with `header: true`
 * they rename the file's header, which must have as many columns), else the file's header record.
 * Undefined for JSON Lines, and for a CSV file with no header record at all (empty file).
 */
export function columnNames(
  config: FilesSourceConfig,
  headerRecord: Buffer | undefined,
  where: string,
): string[] | undefined {
  if (config.format !== 'csv') return undefined;
  const { header, columns } = config.csv;
  if (!header) {
    if (!columns || columns.length === 0) {
      throw new SourceError(
        `csv.header is false, so csv.columns must list the column names (reading ${where})`,
      );
    }
    return checkNames(columns, `csv.columns (reading ${where})`);
  }
  const fromFile = headerRecord === undefined ? undefined : parseHeaderRecord(headerRecord, config, where);
  if (columns && columns.length > 0) {
    if (fromFile && fromFile.length !== columns.length) {
      throw new SourceError(
        `${where}: csv.columns names ${columns.length} columns but the header has ${fromFile.length}`,
      );
    }
    return checkNames(columns, `csv.columns (reading ${where})`);
  }
  if (fromFile) refuseLikelyWrongDelimiter(fromFile, config.csv.delimiter, where);
  return fromFile && checkNames(fromFile, `${where}: the header`);
}

const OTHER_DELIMITERS = [',', ';', '\t', '|'];

/**
 * A header of one field that another common delimiter splits into several: the file was almost surely
 * written with that delimiter, and reading it as configured would reject every row ("has 4 fields, the
 * header has 1") or load one useless column. That is a configuration error, so the plan fails once,
 * saying which delimiter to set, instead of quarantining the whole file row by row.
 */
function refuseLikelyWrongDelimiter(header: string[], delimiter: string, where: string): void {
  if (header.length !== 1) return;
  const [name = ''] = header;
  let best: { delimiter: string; fields: number } | undefined;
  for (const candidate of OTHER_DELIMITERS) {
    if (candidate === delimiter) continue;
    const fields = name.split(candidate).length;
    if (fields > 1 && fields > (best?.fields ?? 1)) best = { delimiter: candidate, fields };
  }
  if (!best) return;
  const shown = JSON.stringify(best.delimiter);
  throw new SourceError(
    `${where}: the header has one field, ${JSON.stringify(name)}, which ${shown} would split into ${best.fields}: ` +
      `the file looks ${shown}-delimited, not ${JSON.stringify(delimiter)}-delimited; set \`csv: { delimiter: ${shown} }\` ` +
      `in source.config (if it really has one column named so, name it in csv.columns)`,
  );
}

function parseHeaderRecord(bytes: Buffer, config: FilesSourceConfig, where: string): string[] {
  if (config.csv.encoding === 'utf8' && !isUtf8(bytes)) {
    throw new SourceError(`${where}: the header line is not valid UTF-8 (is csv.encoding latin1?)`);
  }
  let records: string[][];
  try {
    records = parse(recordText(bytes, config.csv.encoding), csvParseOptions(config));
  } catch (error) {
    throw new SourceError(`${where}: cannot parse the header line: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return records[0] ?? [];
}

function checkNames(names: readonly string[], what: string): string[] {
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    if (name.trim() === '') throw new SourceError(`${what}: column ${i + 1} has no name`);
    if (name === '__proto__')
      throw new SourceError(`${what}: column ${i + 1} is named "__proto__", which is not allowed`);
    const first = seen.get(name);
    if (first !== undefined) {
      throw new SourceError(`${what}: column "${name}" appears twice (columns ${first + 1} and ${i + 1})`);
    }
    seen.set(name, i);
  });
  return [...names];
}
