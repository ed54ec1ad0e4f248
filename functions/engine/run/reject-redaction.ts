import type { TransformSpec } from '../spec/schema.js';
import { hmacOfValue, textOfValue } from '../transforms/hash.js';
import type { RejectRecord, Row } from '../types.js';

type Reject = Omit<RejectRecord, 'chunk'>;

/**
 * Keeps the clear value of a column the spec hashes out of the rejects file. A reject shows the row as
 * read, before any transform, so without this a row refused by a cast (or by validation) would carry
 * the e-mail address the spec pseudonymises. For each hashed column this:
 * - replaces its value in the row with the same HMAC the load would have stored (so a reject still
 *   joins with the loaded rows), tracing the column back through earlier `rename`s to its source name;
 * - removes the clear value from the reason (a reason may quote the value it refused);
 * - for a line that could not be parsed (raw text, columns unknown), shows no text and quotes nothing.
 *
 * Returns undefined when the spec hashes nothing: rejects are then written as they are.
 */
export function rejectRedactor(
  transforms: readonly TransformSpec[],
  hashKeys: Readonly<Record<string, Buffer>>,
): ((reject: Reject) => Reject) | undefined {
  const hashed = hashedSourceColumns(transforms);
  if (hashed.size === 0) return undefined;
  const names = [...new Set(transforms.flatMap((t) => ('hash' in t ? t.hash.columns : [])))].join(', ');
  return (reject) => {
    if (typeof reject.row === 'string') {
      return {
        ...reject,
        reason: unquoted(reject.reason),
        row: `[raw text not shown: this pipeline hashes ${names}; the location names the line]`,
      };
    }
    const row: Row = { ...reject.row };
    const clear: string[] = [];
    for (const [column, keySecret] of hashed) {
      const value = row[column];
      if (value === undefined || value === null || value === '') continue;
      const key = hashKeys[keySecret];
      clear.push(textOfValue(value));
      // Without its key (never the case once the transforms compiled) the value is left out.
      if (key) row[column] = hmacOfValue(key, value);
      else delete row[column];
    }
    return clear.length === 0
      ? { ...reject, row }
      : { ...reject, row, reason: withoutValues(reject.reason, clear) };
  };
}

/**
 * The columns of the row as read whose values a `hash` transform hashes, with the key's secret name:
 * each hashed name, and the source name an earlier `rename` gave it.
 */
export function hashedSourceColumns(transforms: readonly TransformSpec[]): Map<string, string> {
  const sourceOf = new Map<string, string>();
  const hashed = new Map<string, string>();
  for (const t of transforms) {
    if ('rename' in t) {
      const next = new Map(sourceOf);
      for (const [from, to] of Object.entries(t.rename)) {
        next.delete(from);
        next.set(to, sourceOf.get(from) ?? from);
      }
      sourceOf.clear();
      for (const [k, v] of next) sourceOf.set(k, v);
    } else if ('hash' in t) {
      for (const column of t.hash.columns) {
        hashed.set(column, t.hash.keySecret);
        const source = sourceOf.get(column);
        if (source !== undefined) hashed.set(source, t.hash.keySecret);
      }
    }
  }
  return hashed;
}

const QUOTED = /"(?:[^"\\]|\\.)*"/g;

/** Every quoted piece of a reason replaced by "…": what is left says why, not what. */
function unquoted(reason: string): string {
  return reason.replace(QUOTED, '"…"');
}

/** The reason without the clear values: quoted (maybe shortened with …) or as they are. */
function withoutValues(reason: string, clear: readonly string[]): string {
  const redacted = reason.replace(QUOTED, (quoted) => {
    let text: string;
    try {
      text = JSON.parse(quoted) as string;
    } catch {
      return quoted;
    }
    const shown = text.endsWith('…') ? text.slice(0, -1) : text;
    // A piece of four characters or more is taken for the value; a shorter one only when it is all of it.
    const isValue = clear.some((v) => v === text || (shown.length >= 4 && v.includes(shown)));
    return isValue ? '"[hashed]"' : quoted;
  });
  return clear.reduce(
    (text, value) => (value.length >= 4 ? text.split(value).join('[hashed]') : text),
    redacted,
  );
}
