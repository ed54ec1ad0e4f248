/** What a column check returns instead of COPY text when a value does not fit the column. */
export class Invalid {
  constructor(readonly reason: string) {}
}

/**
 * Turns one present value (never null or undefined) into the text PostgreSQL accepts in COPY for the
 * column's type, or says why it cannot.
 */
export type ColumnCheck = (value: unknown) => string | Invalid;
