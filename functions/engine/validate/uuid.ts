import { describeValue } from './describe-value.js';
import { type ColumnCheck, Invalid } from './invalid.js';

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** uuid: the canonical 8-4-4-4-12 hex form only, written lower-case. */
export const checkUuid: ColumnCheck = (value) => {
  if (typeof value !== 'string' || !UUID_TEXT.test(value)) {
    return new Invalid(`value ${describeValue(value)} is not a valid uuid (8-4-4-4-12 hex digits)`);
  }
  return value.toLowerCase();
};
