/**
 * Row validation against the destination columns, and COPY CSV encoding of the validated values.
 * Pure and per row: compile once per chunk, then call for every row.
 */
export { ColumnTypeError } from './column-check.js';
export { encodeCopyCsvFields, encodeCopyCsvLine } from './copy-csv.js';
export { describeValue } from './describe-value.js';
export { compileRowValidator, type ValidationOutcome } from './row-validator.js';
