import { RE2JS, RE2JSException } from 're2js';

/**
 * The regular expressions of `~=` in `filter` and `derive`, on RE2 semantics (re2js, a pure-JS port of
 * RE2/J): matching takes time linear in the input, so no pattern can hang a run on one value the way a
 * backtracking engine does (`^(a+)+$` on 33 bytes ran for minutes on V8's RegExp). RE2 has no
 * backreferences and no lookaround; such a pattern is refused with the reason.
 */
export interface LinearRegex {
  /** True when the pattern matches anywhere in `text` (like RegExp.prototype.test). */
  test(text: string): boolean;
}

/** Compiles `pattern` for the linear-time engine; returns the reason text when RE2 cannot express it. */
export function compileLinearRegex(pattern: string): LinearRegex | string {
  try {
    return RE2JS.compile(pattern);
  } catch (error) {
    if (!(error instanceof RE2JSException)) throw error;
    const reason = error.message.replace(/^error parsing regexp: /, '');
    const hint = /\(\?[=!<]|\\[1-9]/.test(pattern)
      ? ' (~= uses RE2 syntax: lookaround and backreferences cannot run in linear time)'
      : ' (~= uses RE2 syntax)';
    return `pattern ${JSON.stringify(pattern)} is not a supported regular expression: ${reason}${hint}`;
  }
}

/** Every `~=` whose pattern is a string literal, with the pattern's text (filtrex escapes only \" and \\). */
export function literalPatterns(source: string): string[] {
  const patterns: string[] = [];
  const tokens = /"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|~=/g;
  let afterMatchOperator = -1;
  for (const token of source.matchAll(tokens)) {
    if (token[0] === '~=') {
      afterMatchOperator = token.index + 2;
    } else if (
      token[0].startsWith('"') &&
      afterMatchOperator >= 0 &&
      source.slice(afterMatchOperator, token.index).trim() === ''
    ) {
      patterns.push(token[0].slice(1, -1).replace(/\\(["\\])/g, '$1'));
      afterMatchOperator = -1;
    } else {
      afterMatchOperator = -1;
    }
  }
  return patterns;
}
