// How a change event (CDC) is staged: its values checked like any row's (a delete: its key only), then its op, position, instant and the columns it left unchanged.
import { CHANGE_COLUMNS, CHANGE_OPS, changeIdentity } from '../load/cdc-columns.js';
import type { DestinationSpec } from '../spec/schema.js';
import type { Row, RowChange } from '../types.js';
import { compileRowValidator, type ValidationOutcome } from '../validate/index.js';

export interface ChangeStaging {
  /** The staged columns after the destination's, before `_sluice_seq` and `_sluice_ord`. */
  columns: readonly string[];
  /** The row's destination values (a delete: its key, the rest NULL), checked. */
  validate(row: Row, change: RowChange): ValidationOutcome;
  /** The change's own staged fields, in `columns` order. */
  fields(change: RowChange): (string | null)[];
}

/**
 * Staging for change events into `dest`. A column the change left unchanged may be missing from the
 * row: it is checked as nullable and filled from the key's previous version at commit (cdc-apply.ts).
 */
export function compileChangeStaging(dest: DestinationSpec): ChangeStaging {
  const names = Object.keys(dest.columns);
  const full = compileRowValidator(dest.columns);
  const relaxed = compileRowValidator(
    Object.fromEntries(Object.entries(dest.columns).map(([n, c]) => [n, { ...c, nullable: true }])),
  );
  const identity = changeIdentity(dest);
  const keyOnly = compileRowValidator(Object.fromEntries(identity.map((k) => [k, dest.columns[k]!])));
  return {
    columns: CHANGE_COLUMNS,
    validate(row, change) {
      if (change.op !== 'delete') return (change.unchanged?.length ? relaxed : full)(row);
      const key = keyOnly(row);
      if (!key.ok) return key;
      return {
        ok: true,
        values: names.map((n) => (identity.includes(n) ? key.values[identity.indexOf(n)]! : null)),
      };
    },
    fields: (change) => [
      CHANGE_OPS[change.op],
      change.position,
      change.at,
      change.unchanged?.length ? textArray(change.unchanged) : null,
    ],
  };
}

/** A PostgreSQL text[] literal, every element quoted: `{"a","b\"c"}`. */
function textArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}
