// `sluice init`: destination column and table names (lower snake_case SQL identifiers) from source names.
import { createHash } from 'node:crypto';

/** The spec's identifier rule (functions/engine/spec/schema.ts): what every name here must satisfy. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
/** Names the spec refuses as keys of a row object. */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_LENGTH = 63;
/** Symbols that carry meaning in a header; the rest of the punctuation only separates words. */
const SYMBOL_WORDS: Record<string, string> = {
  '%': ' pct ',
  '#': ' num ',
  '&': ' and ',
  '@': ' at ',
  '+': ' plus ',
};

/**
 * A source column name as a destination identifier: `Cost Total $` → `cost_total`, `orderId` →
 * `order_id`, `Café crème` → `cafe_creme`, `2024 sales` → `c_2024_sales`. Undefined when nothing usable
 * is left (empty, only symbols or a script without Latin letters): the caller numbers the column.
 */
export function snakeCase(name: string): string | undefined {
  let text = name.normalize('NFKD').replace(/\p{M}/gu, '');
  text = text.replace(/[%#&@+]/g, (c) => SYMBOL_WORDS[c] ?? ' ');
  text = text
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (text === '') return undefined;
  if (/^\d/.test(text)) text = `c_${text}`;
  if (RESERVED.has(text)) text = `${text}_`;
  return fitLength(text, name);
}

/** At most 63 characters (PostgreSQL's limit): a long name keeps its start and a hash of the whole. */
function fitLength(text: string, original: string): string {
  if (text.length <= MAX_LENGTH) return text;
  const hash = createHash('sha256').update(original).digest('hex').slice(0, 8);
  return `${text.slice(0, MAX_LENGTH - 9).replace(/_+$/, '')}_${hash}`;
}

/**
 * Destination names for a list of source names, one each, distinct and valid: an unusable name
 * becomes `column_<position>`, and a name taken by an earlier column gets `_2`, `_3`, …
 *
 * @example destinationNames(['Id', 'ID', '', 'Cost Total $']) // ['id', 'id_2', 'column_3', 'cost_total']
 */
export function destinationNames(sourceNames: readonly string[]): string[] {
  const taken = new Set<string>();
  return sourceNames.map((name, i) => {
    const base = snakeCase(name) ?? `column_${i + 1}`;
    let candidate = base;
    for (let n = 2; taken.has(candidate); n++) {
      const suffix = `_${n}`;
      candidate = `${base.slice(0, MAX_LENGTH - suffix.length)}${suffix}`;
    }
    taken.add(candidate);
    if (!IDENTIFIER.test(candidate)) throw new Error(`internal: "${candidate}" is not an identifier`);
    return candidate;
  });
}

/** A pipeline name (kebab-case) as the table name. */
export function tableName(pipeline: string): string {
  return pipeline.replaceAll('-', '_');
}
