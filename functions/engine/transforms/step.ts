import type { Row } from '../types.js';

/** A row the transforms refused, with the reason a user reads in the rejects file. */
export class RowRejection {
  readonly kind = 'rejected' as const;
  readonly reason: string;
  declare readonly column?: string;

  constructor(reason: string, column?: string) {
    this.reason = reason;
    if (column !== undefined) this.column = column;
  }
}

/** The one outcome of a filter that does not keep the row. */
export const FILTERED: { readonly kind: 'filtered' } = Object.freeze({ kind: 'filtered' });

/** Why a row stops early: filtered out, or rejected. */
export type RowStop = RowRejection | typeof FILTERED;

/**
 * One compiled transform: takes the working row (a private copy it may change in place) and returns
 * the row to go on with, or why the row stops. Never throws for a row.
 */
export type RowStep = (row: Row) => Row | RowStop;

export function isStop(result: Row | RowStop): result is RowStop {
  return result === FILTERED || result instanceof RowRejection;
}
