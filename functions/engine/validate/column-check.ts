import { checkBoolean } from './boolean.js';
import { checkDate } from './date.js';
import { compileFloatCheck } from './float.js';
import { compileIntegerCheck } from './integer.js';
import type { ColumnCheck } from './invalid.js';
import { checkJsonb } from './jsonb.js';
import { compileNumericCheck } from './numeric.js';
import { checkText, compileVarcharCheck } from './text.js';
import { compileTimestampCheck } from './timestamp.js';
import { checkUuid } from './uuid.js';

/** A destination column type the validator cannot check, or one PostgreSQL would refuse to create. */
export class ColumnTypeError extends Error {
  constructor(
    readonly column: string,
    readonly type: string,
    detail: string,
  ) {
    super(`destination.columns.${column}.type: ${detail}`);
    this.name = 'ColumnTypeError';
  }
}

export interface CompiledColumnCheck {
  check: ColumnCheck;
  /** text and varchar keep an empty string as ''; every other type reads it as NULL. */
  emptyStringIsNull: boolean;
}

const VARCHAR = /^varchar\((\d+)\)$/;
const NUMERIC = /^numeric(?:\((\d+)(?:,\s*(\d+))?\))?$/;

/** Picks the check for a column type (the spec's COLUMN_TYPE_PATTERN); throws ColumnTypeError otherwise. */
export function compileColumnCheck(column: string, type: string): CompiledColumnCheck {
  switch (type) {
    case 'text':
      return { check: checkText, emptyStringIsNull: false };
    case 'smallint':
    case 'integer':
    case 'bigint':
      return { check: compileIntegerCheck(type), emptyStringIsNull: true };
    case 'real':
    case 'double precision':
      return { check: compileFloatCheck(type), emptyStringIsNull: true };
    case 'boolean':
      return { check: checkBoolean, emptyStringIsNull: true };
    case 'date':
      return { check: checkDate, emptyStringIsNull: true };
    case 'timestamp':
    case 'timestamptz':
      return { check: compileTimestampCheck(type), emptyStringIsNull: true };
    case 'uuid':
      return { check: checkUuid, emptyStringIsNull: true };
    case 'jsonb':
      return { check: checkJsonb, emptyStringIsNull: true };
  }
  const varchar = VARCHAR.exec(type);
  if (varchar) {
    const length = Number(varchar[1]);
    if (length < 1) throw new ColumnTypeError(column, type, `${type} must allow at least 1 character`);
    return { check: compileVarcharCheck(type, length), emptyStringIsNull: false };
  }
  const numeric = NUMERIC.exec(type);
  if (numeric) {
    const precision = numeric[1] === undefined ? undefined : Number(numeric[1]);
    const scale = precision === undefined ? undefined : Number(numeric[2] ?? 0);
    if (precision !== undefined && (precision < 1 || precision > 1000)) {
      throw new ColumnTypeError(column, type, `precision of ${type} must be between 1 and 1000`);
    }
    return { check: compileNumericCheck(type, precision, scale), emptyStringIsNull: true };
  }
  throw new ColumnTypeError(column, type, `unsupported column type "${type}"`);
}
