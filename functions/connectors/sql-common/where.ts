import type { SqlChunk } from './config.js';

/**
 * The WHERE clause of a chunk's range query, with values as parameters:
 * `(key >= lo AND key < hi [OR key IS NULL]) AND cursor > gt AND cursor <= lte`.
 */
export function chunkPredicate(
  chunk: SqlChunk,
  key: string | undefined,
  cursorColumn: string | undefined,
  quote: (name: string) => string,
  param: (index: number) => string,
): { sql: string; params: string[] } {
  const params: string[] = [];
  const add = (value: string) => {
    params.push(value);
    return param(params.length);
  };
  const parts: string[] = [];
  if (key && (chunk.lo !== undefined || chunk.hi !== undefined)) {
    const k = quote(key);
    const range: string[] = [];
    if (chunk.lo !== undefined) range.push(`${k} >= ${add(chunk.lo)}`);
    if (chunk.hi !== undefined) range.push(`${k} < ${add(chunk.hi)}`);
    const bounded = range.join(' AND ');
    parts.push(chunk.nulls ? `(${bounded} OR ${k} IS NULL)` : `(${bounded})`);
  }
  parts.push(...windowPredicate(chunk.cursor, cursorColumn, quote, add));
  return { sql: parts.length > 0 ? parts.join(' AND ') : '1 = 1', params };
}

/** The cursor window as conditions on the cursor column. */
export function windowPredicate(
  window: SqlChunk['cursor'],
  cursorColumn: string | undefined,
  quote: (name: string) => string,
  add: (value: string) => string,
): string[] {
  if (!window || !cursorColumn) return [];
  const c = quote(cursorColumn);
  const parts: string[] = [];
  if (window.gt !== undefined) parts.push(`${c} > ${add(window.gt)}`);
  if (window.gte !== undefined) parts.push(`${c} >= ${add(window.gte)}`);
  if (window.lt !== undefined) parts.push(`${c} < ${add(window.lt)}`);
  if (window.lte !== undefined) parts.push(`${c} <= ${add(window.lte)}`);
  return parts;
}
