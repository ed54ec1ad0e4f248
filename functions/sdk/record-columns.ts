import type { DiscoveredColumn } from './source.js';

/**
 * Columns of schemaless records (JSON Lines, an HTTP API's JSON): the union of their keys in
 * first-seen order, each with the destination type its non-null values agree on (numeric, boolean,
 * jsonb for objects and arrays), else text. For connectors that report columns from a sample.
 *
 * @example
 * const columns = new RecordColumns();
 * for (const record of firstPage) columns.add(record);
 * return [{ name: url, columns: columns.list() }];
 */
export class RecordColumns {
  readonly #kinds = new Map<string, Set<string>>();

  /** Takes a record's keys; anything but a JSON object is ignored (the read rejects it). */
  add(record: unknown): void {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) return;
    for (const [name, value] of Object.entries(record)) {
      let kinds = this.#kinds.get(name);
      if (!kinds) {
        kinds = new Set();
        this.#kinds.set(name, kinds);
      }
      if (value !== null && value !== undefined) kinds.add(Array.isArray(value) ? 'object' : typeof value);
    }
  }

  list(): DiscoveredColumn[] {
    return [...this.#kinds].map(([name, kinds]) => ({ name, type: agreedType(kinds), nullable: true }));
  }
}

function agreedType(kinds: Set<string>): string {
  if (kinds.size !== 1) return 'text';
  const [kind] = kinds;
  if (kind === 'number') return 'numeric';
  if (kind === 'boolean') return 'boolean';
  if (kind === 'object') return 'jsonb';
  return 'text';
}
