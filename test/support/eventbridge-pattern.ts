/** EventBridge event pattern matching, for the operators our docs use, so a documented pattern is tested, not assumed. */

/**
 * Semantics, as the EventBridge user guide ("Creating event patterns", "Content filtering") states them:
 * - A pattern is a JSON object whose leaves are arrays; an event matches when every field the pattern
 *   names matches (AND across fields) and, for a leaf array, any one of its values or filters matches (OR).
 * - Fields the pattern does not name are ignored. A nested object in the pattern is matched against the
 *   event's object at that key.
 * - When the event's value is an array, the leaf matches if any element of it matches.
 * - Exact values: strings, numbers and null match by equality (case-sensitive; numbers as numbers).
 * - `{ "prefix": "x" }` (or `{ "prefix": { "equals-ignore-case": "x" } }`): string values starting with x.
 * - `{ "anything-but": v | [v…] | { "prefix": "x" } }`: any value except those; a missing field does not match.
 * - `{ "exists": true | false }`: the field is present (not an object/array-less missing) or absent.
 * - `{ "numeric": [">", 0, "<=", 5] }`: numbers within every bound.
 * Anything else in a pattern is an error here, so a pattern using an operator we did not implement is never
 * silently "matched".
 */
export type EventPattern = { [key: string]: EventPattern | readonly PatternValue[] };
type PatternValue = string | number | boolean | null | Record<string, unknown>;

export function matchesPattern(pattern: EventPattern, event: Record<string, unknown>): boolean {
  for (const [key, rule] of Object.entries(pattern)) {
    const present = Object.hasOwn(event, key);
    const value = event[key];
    if (Array.isArray(rule)) {
      if (!matchesLeaf(rule, present, value)) return false;
    } else {
      if (!rule || typeof rule !== 'object')
        throw new PatternError(`"${key}": a pattern value must be an array or an object`);
      if (!present || !value || typeof value !== 'object' || Array.isArray(value)) {
        // Only exists:false filters below can match a missing object.
        if (!allAbsentAllowed(rule as EventPattern)) return false;
        continue;
      }
      if (!matchesPattern(rule as EventPattern, value as Record<string, unknown>)) return false;
    }
  }
  return true;
}

function allAbsentAllowed(pattern: EventPattern): boolean {
  return Object.values(pattern).every((rule) =>
    Array.isArray(rule)
      ? rule.some((f) => isObject(f) && f.exists === false)
      : allAbsentAllowed(rule as EventPattern),
  );
}

function matchesLeaf(rule: readonly PatternValue[], present: boolean, value: unknown): boolean {
  if (rule.length === 0) throw new PatternError('an empty array matches nothing: EventBridge refuses it');
  const values = Array.isArray(value) ? value : [value];
  return rule.some((filter) => {
    if (isObject(filter)) {
      if ('exists' in filter) return filter.exists === present;
      if (!present) return false;
      return values.some((v) => matchesFilter(filter, v));
    }
    if (!present) return false;
    return values.some((v) => v === filter);
  });
}

function matchesFilter(filter: Record<string, unknown>, value: unknown): boolean {
  const keys = Object.keys(filter);
  if (keys.length !== 1)
    throw new PatternError(`a filter has exactly one operator: ${JSON.stringify(filter)}`);
  const op = keys[0]!;
  const arg = filter[op];
  switch (op) {
    case 'prefix':
      return typeof value === 'string' && startsWith(value, arg);
    case 'anything-but': {
      if (isObject(arg)) {
        if (!('prefix' in arg)) throw new PatternError(`unsupported anything-but: ${JSON.stringify(arg)}`);
        return typeof value === 'string' && !startsWith(value, arg.prefix);
      }
      const excluded = Array.isArray(arg) ? arg : [arg];
      return !excluded.some((e) => e === value);
    }
    case 'numeric':
      return typeof value === 'number' && numericMatches(arg, value);
    default:
      throw new PatternError(`operator "${op}" is not implemented in test/support/eventbridge-pattern.ts`);
  }
}

function startsWith(value: string, prefix: unknown): boolean {
  if (typeof prefix === 'string') return value.startsWith(prefix);
  if (isObject(prefix) && typeof prefix['equals-ignore-case'] === 'string')
    return value.toLowerCase().startsWith(prefix['equals-ignore-case'].toLowerCase());
  throw new PatternError(`unsupported prefix: ${JSON.stringify(prefix)}`);
}

const COMPARATORS: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '=': (a, b) => a === b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

function numericMatches(arg: unknown, value: number): boolean {
  if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0)
    throw new PatternError(`numeric takes operator/number pairs: ${JSON.stringify(arg)}`);
  for (let i = 0; i < arg.length; i += 2) {
    const compare = COMPARATORS[String(arg[i])];
    const bound = arg[i + 1];
    if (!compare || typeof bound !== 'number')
      throw new PatternError(`numeric takes operator/number pairs: ${JSON.stringify(arg)}`);
    if (!compare(value, bound)) return false;
  }
  return true;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class PatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatternError';
  }
}
