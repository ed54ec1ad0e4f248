import { compileExpression } from 'filtrex';
import type { Row } from '../types.js';
import { BOOLEAN_WORDS } from '../validate/boolean.js';
import { parseIsoTimestamp } from '../validate/calendar.js';
import { describeValue } from '../validate/describe-value.js';
import { countCodePoints } from '../validate/text.js';
import { TransformConfigError } from './errors.js';
import { compileLinearRegex, type LinearRegex, literalPatterns } from './regex.js';

/**
 * Expressions for `derive` and `filter`, compiled with filtrex: a small, safe language with no access
 * to JavaScript globals, and no clock (no now()), so a row always gives the same result.
 *
 * Values are the row's own: CSV gives strings, JSONL gives JSON values. The operators read a string
 * that spells a finite number (`"42"`, `" -1.5 "`, `"1e3"`) as that number, so `price * qty` and
 * `amount > 100` work on CSV input without a cast, while `zip == "01234"` still compares text.
 * - `+ - * / ^ mod`: numbers (or numeric strings); `+` of two other strings concatenates them.
 *   Any side null or '' makes the result null (as in SQL).
 * - `< <= > >=`: numeric when both sides are numbers, else text order when both are strings (ISO
 *   dates sort right); false when a side is null or ''.
 * - `==`, `!=`: numeric when either side is a number; a JSON boolean equals its spellings
 *   ("true", "t", "yes", ...); null and '' are equal to each other; otherwise exact.
 * - `x in (a, b)` is filtrex's exact match (no number/text conversion) and fails on null x.
 * - `x ~= "pattern"`: true when the RE2 regular expression matches somewhere in x (regex.ts: linear time;
 *   no lookaround or backreferences, refused at compile time); false when x is null or ''.
 * - A column that is absent from the row is an error (the row is rejected naming it), never null:
 *   a misspelt or vanished column must not load NULL quietly. A present column whose value is null
 *   or '' is null. `'odd name'` quotes a column name; `a.b` reads column "a.b" if the row has it, else
 *   field b of object column a (a field absent from that object is null, as in JSON); `b of a` too.
 * - Constants: true, false, null.
 */

/**
 * A problem with a value met while evaluating; rejects the row with this message. It carries no stack
 * trace: nobody reads one, and capturing it made each rejected row ten times slower to reject.
 */
class ExpressionValueError extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

const NUMERIC_TEXT = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'if', 'then', 'else', 'of', 'mod']);
const CALLED_NAME = /([A-Za-z_$][\w$.]*)\s*\(/g;
const STRING_OR_QUOTED_SYMBOL = /"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'/g;
const MAX_CACHED_PATTERNS = 64;

function isEmpty(value: unknown): value is null | undefined | '' {
  return value === null || value === undefined || value === '';
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && NUMERIC_TEXT.test(value)) return Number(value);
  return undefined;
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function requireNumber(value: unknown, where: string): number {
  const n = numberOf(value);
  if (n === undefined)
    throw new ExpressionValueError(`${where} expects a number, got ${describeValue(value)}`);
  return n;
}

function arithmetic(symbol: string, apply: (a: number, b: number) => number) {
  return (a: unknown, b: unknown): number | null => {
    if (isEmpty(a) || isEmpty(b)) return null;
    const x = numberOf(a);
    const y = numberOf(b);
    if (x === undefined || y === undefined) {
      throw new ExpressionValueError(
        `cannot compute ${describeValue(a)} ${symbol} ${describeValue(b)}: both sides must be numbers`,
      );
    }
    return apply(x, y);
  };
}

const subtract = arithmetic('-', (a, b) => a - b);

function plus(a: unknown, b: unknown): number | string | null {
  if (isEmpty(a) || isEmpty(b)) return null;
  const x = numberOf(a);
  const y = numberOf(b);
  if (x !== undefined && y !== undefined) return x + y;
  if (typeof a === 'string' && typeof b === 'string') return a + b;
  throw new ExpressionValueError(
    `cannot compute ${describeValue(a)} + ${describeValue(b)}: both sides must be numbers, or both text`,
  );
}

function minus(a: unknown, b?: unknown): number | null {
  // filtrex calls the same operator with one argument for unary minus; values are never undefined
  // (an absent column is an error, a null one null), so a missing b means unary.
  if (b !== undefined) return subtract(a, b);
  if (isEmpty(a)) return null;
  return -requireNumber(a, 'unary -');
}

function ordering(symbol: string, test: (order: number) => boolean) {
  return (a: unknown, b: unknown): boolean => {
    if (isEmpty(a) || isEmpty(b)) return false;
    const x = numberOf(a);
    const y = numberOf(b);
    if (x !== undefined && y !== undefined) return test(x < y ? -1 : x > y ? 1 : 0);
    if (typeof a === 'string' && typeof b === 'string') return test(a < b ? -1 : a > b ? 1 : 0);
    throw new ExpressionValueError(`cannot compare ${describeValue(a)} ${symbol} ${describeValue(b)}`);
  };
}

function equals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isEmpty(a) || isEmpty(b)) return isEmpty(a) && isEmpty(b);
  if (typeof a === 'number' || typeof b === 'number') {
    const x = numberOf(a);
    return x !== undefined && x === numberOf(b);
  }
  if (typeof a === 'boolean' && typeof b === 'string') return BOOLEAN_WORDS.get(b.trim().toLowerCase()) === a;
  if (typeof b === 'boolean' && typeof a === 'string') return BOOLEAN_WORDS.get(a.trim().toLowerCase()) === b;
  return false;
}

function numeric1(name: string, apply: (n: number) => number) {
  return (value: unknown): number | null =>
    isEmpty(value) ? null : apply(requireNumber(value, `${name}()`));
}

function text1(name: string, apply: (s: string) => string) {
  return (value: unknown): string | null => {
    if (isEmpty(value)) return value === '' ? '' : null;
    if (typeof value === 'object')
      throw new ExpressionValueError(`${name}() expects text, got ${describeValue(value)}`);
    return apply(textOf(value));
  };
}

function extremum(name: string, pick: (a: number, b: number) => number) {
  return (...values: unknown[]): number | null => {
    let best: number | null = null;
    for (const value of values) {
      if (isEmpty(value)) continue;
      const n = requireNumber(value, `${name}()`);
      best = best === null ? n : pick(best, n);
    }
    return best;
  };
}

function datePart(name: string, pick: (ts: { year: number; month: number; day: number }) => number) {
  return (value: unknown): number | null => {
    if (isEmpty(value)) return null;
    const parsed = typeof value === 'string' ? parseIsoTimestamp(value) : 'is not an ISO date';
    if (typeof parsed === 'string')
      throw new ExpressionValueError(`${name}() expects an ISO date, got ${describeValue(value)}`);
    return pick(parsed);
  };
}

/** Rounds half away from zero, like SQL's round(), without binary-fraction surprises (1.005 → 1.01). */
function round(value: unknown, digits: unknown = 0): number | null {
  if (isEmpty(value)) return null;
  const n = requireNumber(value, 'round()');
  const places = requireNumber(digits, 'round() digits');
  if (!Number.isInteger(places))
    throw new ExpressionValueError(`round() digits must be a whole number, got ${describeValue(digits)}`);
  const magnitude = Math.round(Number(`${Math.abs(n)}e${places}`));
  const rounded = Number(`${magnitude}e${-places}`);
  return n < 0 ? -rounded : rounded;
}

function codePointSlice(value: unknown, name: string, count: unknown, fromEnd: boolean): string | null {
  if (isEmpty(value)) return value === '' ? '' : null;
  const n = requireNumber(count, `${name}() length`);
  const chars = Array.from(textOf(value));
  const take = Math.max(0, Math.min(chars.length, Math.trunc(n)));
  return (fromEnd ? chars.slice(chars.length - take) : chars.slice(0, take)).join('');
}

/** The functions expressions may call; nothing else is reachable. */
const FUNCTIONS = {
  abs: numeric1('abs', Math.abs),
  ceil: numeric1('ceil', Math.ceil),
  floor: numeric1('floor', Math.floor),
  sqrt: numeric1('sqrt', Math.sqrt),
  log: numeric1('log', Math.log),
  log2: numeric1('log2', Math.log2),
  log10: numeric1('log10', Math.log10),
  round,
  min: extremum('min', Math.min),
  max: extremum('max', Math.max),
  number: (value: unknown): number | null => (isEmpty(value) ? null : requireNumber(value, 'number()')),
  text: (value: unknown): string | null => (value === null || value === undefined ? null : textOf(value)),
  lower: text1('lower', (s) => s.toLowerCase()),
  upper: text1('upper', (s) => s.toUpperCase()),
  trim: text1('trim', (s) => s.trim()),
  len: (value: unknown): number | null => {
    if (value === null || value === undefined) return null;
    return Array.isArray(value) ? value.length : countCodePoints(textOf(value));
  },
  left: (value: unknown, count: unknown) => codePointSlice(value, 'left', count, false),
  right: (value: unknown, count: unknown) => codePointSlice(value, 'right', count, true),
  replace: (value: unknown, search: unknown, replacement: unknown): string | null => {
    if (value === null || value === undefined) return null;
    if (isEmpty(search)) return textOf(value);
    return textOf(value).replaceAll(textOf(search), isEmpty(replacement) ? '' : textOf(replacement));
  },
  concat: (...values: unknown[]): string => {
    let joined = '';
    for (const value of values) if (!isEmpty(value)) joined += textOf(value);
    return joined;
  },
  coalesce: (...values: unknown[]): unknown => {
    for (const value of values) if (!isEmpty(value)) return value;
    return null;
  },
  exists: (value: unknown): boolean => value !== null && value !== undefined,
  empty: (value: unknown): boolean => isEmpty(value) || (Array.isArray(value) && value.length === 0),
  year: datePart('year', (d) => d.year),
  month: datePart('month', (d) => d.month),
  day: datePart('day', (d) => d.day),
};

/** Names an expression can call, for the compile-time check and for error messages. */
export const EXPRESSION_FUNCTIONS: readonly string[] = Object.keys(FUNCTIONS).sort();

/** Reading a column the row does not have: an error that rejects the row, never a null. */
function absentColumn(name: string): ExpressionValueError {
  return new ExpressionValueError(
    `column "${name}" is not in this row (an expression never reads a missing column as null)`,
  );
}

/**
 * filtrex's property lookup. `isRow` tells a column of the row (must exist) from a field of a JSON
 * object value (`b of a`, `a.b`: an absent field is null, as in JSON).
 */
function readColumn(
  name: string,
  data: unknown,
  type: 'unescaped' | 'single-quoted',
  isRow: boolean,
): unknown {
  if (data === null || typeof data !== 'object') return null;
  if (Object.hasOwn(data, name)) return (data as Record<string, unknown>)[name] ?? null;
  if (type === 'unescaped' && name.includes('.')) {
    const [head = '', ...fields] = name.split('.');
    if (isRow && !Object.hasOwn(data, head)) throw absentColumn(name);
    let current: unknown = (data as Record<string, unknown>)[head];
    for (const part of fields) {
      if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) return null;
      current = (current as Record<string, unknown>)[part];
    }
    return current ?? null;
  }
  if (isRow) throw absentColumn(name);
  return null;
}

/**
 * Compiles an expression; the returned function gives the value for a row, or an Error (never thrown)
 * whose message says what went wrong. Throws TransformConfigError at `path` when the expression does
 * not parse or calls an unknown function.
 */
export function compileRowExpression(source: string, path: string): (row: Row) => unknown {
  const unknownFunction = findUnknownFunction(source);
  if (unknownFunction) {
    throw new TransformConfigError(
      path,
      `invalid expression ${JSON.stringify(source)}: unknown function ${unknownFunction}() (known: ${EXPRESSION_FUNCTIONS.join(', ')})`,
    );
  }
  // `~=` runs on RE2 (regex.ts): literal patterns are checked now, a pattern read from a column rejects its row.
  for (const pattern of literalPatterns(source)) {
    const compiled = compileLinearRegex(pattern);
    if (typeof compiled === 'string')
      throw new TransformConfigError(path, `invalid expression ${JSON.stringify(source)}: ${compiled}`);
  }
  const patterns = new Map<string, LinearRegex>();
  const matches = (a: unknown, b: unknown): boolean => {
    if (isEmpty(a)) return false;
    const pattern = textOf(b);
    let regex = patterns.get(pattern);
    if (!regex) {
      const compiled = compileLinearRegex(pattern);
      if (typeof compiled === 'string') throw new ExpressionValueError(compiled);
      if (patterns.size >= MAX_CACHED_PATTERNS) patterns.clear();
      regex = compiled;
      patterns.set(pattern, regex);
    }
    return regex.test(textOf(a));
  };
  // `mod` is not in filtrex's Operators type but is the key its generated code calls.
  const operators = {
    '+': plus,
    '-': minus,
    '*': arithmetic('*', (a, b) => a * b),
    '/': arithmetic('/', (a, b) => a / b),
    '^': arithmetic('^', (a, b) => a ** b),
    mod: arithmetic('mod', (a, b) => ((a % b) + b) % b),
    '==': equals,
    '!=': (a: unknown, b: unknown) => !equals(a, b),
    '<': ordering('<', (o) => o < 0),
    '<=': ordering('<=', (o) => o <= 0),
    '>': ordering('>', (o) => o > 0),
    '>=': ordering('>=', (o) => o >= 0),
    '~=': matches,
  };
  // The row being evaluated: filtrex passes it as `data` for a column and the object for `x of y`.
  let current: unknown;
  try {
    const evaluate = compileExpression(source, {
      extraFunctions: FUNCTIONS,
      constants: { true: true, false: false, null: null },
      customProp: (name, _get, data, type) => readColumn(name, data, type, data === current),
      operators,
    }) as (row: Row) => unknown;
    return (row) => {
      current = row;
      return evaluate(row);
    };
  } catch (error) {
    throw new TransformConfigError(path, compileErrorDetail(source, error));
  }
}

/** Turns filtrex's runtime Error into the text of a reject reason. */
export function expressionErrorMessage(error: Error): string {
  if (/Expected a list, but got a (null|undefined)/.test(error.message)) {
    return 'the value before "in" is null; use coalesce(x, "") in (...) for optional columns';
  }
  return error.message;
}

function findUnknownFunction(source: string): string | undefined {
  const code = source.replace(STRING_OR_QUOTED_SYMBOL, '""');
  for (const match of code.matchAll(CALLED_NAME)) {
    const name = match[1]!;
    if (!KEYWORDS.has(name) && !Object.hasOwn(FUNCTIONS, name)) return name;
  }
  return undefined;
}

function compileErrorDetail(source: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const [first = '', context, caret, ...rest] = message.split('\n');
  const prefix = `invalid expression ${JSON.stringify(source)}`;
  if (context !== undefined && caret?.endsWith('^')) {
    const at = context.slice(caret.length - 1);
    const what = first.startsWith('Lexical') ? 'unrecognized text' : rest.join(' ') || 'syntax error';
    return `${prefix}: ${what} ${at ? `at ${JSON.stringify(at)}` : 'at the end'}`;
  }
  return `${prefix}: ${message.replaceAll('\n', ' ')}`;
}
