/** Longest value text quoted in a reject reason; longer values are cut so reasons stay readable. */
const MAX_QUOTED_LENGTH = 80;

/**
 * Renders a value for a reject reason: strings JSON-quoted (so control characters show), other values
 * as JSON, both cut to about 80 characters.
 * @example describeValue('31/02/2026') // '"31/02/2026"'
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(truncate(value));
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return truncate(safeStringify(value));
}

function truncate(text: string): string {
  return text.length > MAX_QUOTED_LENGTH ? `${text.slice(0, MAX_QUOTED_LENGTH - 1)}…` : text;
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
