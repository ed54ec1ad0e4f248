import type { Row } from '../types.js';
import { assertSafeColumnName } from './errors.js';

/**
 * Within-chunk dedupe: keeps one row per key. Feed rows in order; `finish` gives the kept rows in
 * the order they were fed, and how many were dropped.
 */
export interface Deduper {
  add(row: Row, ordinal: number): void;
  finish(): { rows: { row: Row; ordinal: number }[]; dropped: number };
}

/**
 * `dedupe: {key, keep}`: one row per key value, the first or the last one fed (`keep`, default last).
 * Key values compare by their text (42 and "42" are the same key; objects by their JSON). A row whose
 * key has a null, missing or '' part is never merged with another: validation rejects it on its own,
 * instead of it silently replacing a good row.
 */
export function compileDedupe(key: readonly string[], keep: 'first' | 'last', path: string): Deduper {
  key.forEach((name, i) => {
    assertSafeColumnName(name, `${path}.key[${i}]`);
  });
  const keyOf = key.length === 1 ? singleKey(key[0]!) : compositeKey(key);
  const kept: ({ row: Row; ordinal: number } | undefined)[] = [];
  const slotOf = new Map<string, number>();
  let dropped = 0;

  return {
    add(row, ordinal) {
      const k = keyOf(row);
      if (k === undefined) {
        kept.push({ row, ordinal });
        return;
      }
      const slot = slotOf.get(k);
      if (slot === undefined) {
        slotOf.set(k, kept.length);
        kept.push({ row, ordinal });
        return;
      }
      dropped++;
      if (keep === 'last') {
        kept[slot] = undefined;
        slotOf.set(k, kept.length);
        kept.push({ row, ordinal });
      }
    },
    finish() {
      const rows = kept.filter((entry): entry is { row: Row; ordinal: number } => entry !== undefined);
      return { rows, dropped };
    },
  };
}

function keyText(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function singleKey(name: string): (row: Row) => string | undefined {
  return (row) => keyText(row[name]);
}

function compositeKey(names: readonly string[]): (row: Row) => string | undefined {
  return (row) => {
    let joined = '';
    for (const name of names) {
      const text = keyText(row[name]);
      if (text === undefined) return undefined;
      // Length-prefixed parts cannot run into each other: ("a,b", "c") ≠ ("a", "b,c").
      joined += `${text.length}:${text}`;
    }
    return joined;
  };
}
