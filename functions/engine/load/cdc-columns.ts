// The shape a change run's staging table adds (op, position, commit instant, unchanged columns) and what applying it counts.
import type { DestinationSpec } from '../spec/schema.js';
import type { HistoryCounts } from './scd2.js';

/** The staging columns a change run adds after the destination's (before `_sluice_seq`, `_sluice_ord`). */
export const CHANGE_COLUMNS = ['_sluice_op', '_sluice_position', '_sluice_at', '_sluice_unchanged'] as const;

/** The staged `_sluice_op` of each change. */
export const CHANGE_OPS = { insert: 'i', update: 'u', delete: 'd' } as const;

/** The columns that name a source row in the destination: its key without the partition column. */
export function changeIdentity(dest: DestinationSpec): string[] {
  const identity = (dest.key ?? []).filter((k) => k !== dest.partitioning?.column);
  if (identity.length === 0)
    throw new Error('CDC needs destination.key: the source row each change applies to is found by it');
  return identity;
}

export interface ChangeCounts extends HistoryCounts {
  /** Rows moved out of their old partition (upsert: the partition column changed). */
  moved: number;
  /** Soft-deleted rows that came back (upsert, deletes: soft). */
  restored: number;
}
