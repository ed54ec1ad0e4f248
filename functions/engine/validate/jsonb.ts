import { describeValue } from './describe-value.js';
import { type ColumnCheck, Invalid } from './invalid.js';

/**
 * jsonb: objects, arrays, numbers and booleans are serialised; strings must already be JSON text and
 * are passed on as written (re-serialising would round big numbers). PostgreSQL also refuses `\u0000`
 * and unpaired surrogate escapes inside jsonb, so those are rejected here rather than failing the load.
 */
export const checkJsonb: ColumnCheck = (value) => {
  let text: string;
  if (typeof value === 'string') {
    try {
      JSON.parse(value);
    } catch {
      return new Invalid(`value ${describeValue(value)} is not valid JSON`);
    }
    text = value;
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) return new Invalid(`value ${describeValue(value)} is not valid JSON`);
    text = String(value);
  } else if (typeof value === 'boolean') {
    text = value ? 'true' : 'false';
  } else if (typeof value === 'object' && value !== null) {
    const serialised = stringify(value);
    if (serialised === undefined)
      return new Invalid(`value ${describeValue(value)} cannot be written as JSON`);
    text = serialised;
  } else {
    return new Invalid(`value ${describeValue(value)} is not valid JSON`);
  }
  if (text.includes('\\u')) {
    const problem = unicodeEscapeProblem(text);
    if (problem) return new Invalid(problem);
  }
  return text;
};

function stringify(value: object): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/** Finds the `\uXXXX` escapes PostgreSQL's jsonb refuses: NUL, and surrogates that are not a pair. */
function unicodeEscapeProblem(text: string): string | undefined {
  let pendingHigh = false;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 92) {
      if (pendingHigh) return 'contains an unpaired UTF-16 surrogate escape';
      continue;
    }
    const kind = text[i + 1];
    if (kind !== 'u') {
      if (pendingHigh) return 'contains an unpaired UTF-16 surrogate escape';
      i++; // an escaped character, possibly a backslash
      continue;
    }
    const code = Number.parseInt(text.slice(i + 2, i + 6), 16);
    i += 5;
    if (code === 0) return 'contains a NUL byte';
    const isHigh = code >= 0xd800 && code <= 0xdbff;
    const isLow = code >= 0xdc00 && code <= 0xdfff;
    if (pendingHigh !== isLow) return 'contains an unpaired UTF-16 surrogate escape';
    pendingHigh = isHigh;
  }
  return pendingHigh ? 'contains an unpaired UTF-16 surrogate escape' : undefined;
}
