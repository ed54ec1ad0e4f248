/**
 * A small glob for object keys ('/'-separated), so matching is the same for folders and S3 and does not
 * depend on Node's experimental `path.matchesGlob`:
 * `*` any characters but '/', `?` one character but '/', `**` as a whole segment any number of
 * segments (also none), `{a,b}` alternatives (nestable), `[abc]` / `[!abc]` a character class.
 * Dot files are not special. Other characters match themselves.
 */
export function globToRegExp(pattern: string): RegExp {
  const body = translate(pattern.replace(/^\.\//, ''), 0, false).source;
  return new RegExp(`^${body}$`, 'u');
}

/**
 * The literal folder part in front of a glob's first wildcard (`raw/2026/*.csv` → `raw/2026/`), so a
 * listing can start there instead of at the root.
 */
export function literalPrefix(pattern: string): string {
  const clean = pattern.replace(/^\.\//, '');
  const wild = clean.search(/[*?{[\\]/);
  const literal = wild === -1 ? clean : clean.slice(0, wild);
  return literal.slice(0, literal.lastIndexOf('/') + 1);
}

/** Translates from `start` until the end, or (inside braces) until the `,` or `}` that ends this alternative. */
function translate(p: string, start: number, inBraces: boolean): { source: string; end: number } {
  let out = '';
  let i = start;
  while (i < p.length) {
    const c = p[i]!;
    if (inBraces && (c === ',' || c === '}')) return { source: out, end: i };
    if (c === '*') {
      if (p[i + 1] === '*') {
        const segmentStart = i === 0 || p[i - 1] === '/';
        const j = i + 2;
        if (segmentStart && p[j] === '/') {
          out += '(?:[^/]*/)*'; // `**/`: zero or more folders
          i = j + 1;
          continue;
        }
        if (segmentStart && j === p.length) {
          out += '.*'; // trailing `**`: everything below
          i = j;
          continue;
        }
        i = j; // `a**b` is just `a*b`
      } else {
        i += 1;
      }
      out += '[^/]*';
      continue;
    }
    if (c === '?') {
      out += '[^/]';
      i += 1;
      continue;
    }
    if (c === '{') {
      const alternatives: string[] = [];
      let j = i + 1;
      let closed = false;
      while (j <= p.length) {
        const alt = translate(p, j, true);
        alternatives.push(alt.source);
        j = alt.end + 1;
        if (p[alt.end] === '}') {
          closed = true;
          break;
        }
        if (alt.end >= p.length) break;
      }
      if (closed) {
        out += `(?:${alternatives.join('|')})`;
        i = j;
        continue;
      }
      out += '\\{'; // an unclosed brace is literal
      i += 1;
      continue;
    }
    if (c === '[') {
      const close = p.indexOf(']', i + 2);
      if (close !== -1) {
        const negate = p[i + 1] === '!' || p[i + 1] === '^';
        const members = p.slice(negate ? i + 2 : i + 1, close).replace(/[\\\]^]/g, '\\$&');
        out += negate ? `[^/${members}]` : `[${members}]`;
        i = close + 1;
        continue;
      }
    }
    if (c === '\\' && i + 1 < p.length) {
      out += escapeRegExp(p[i + 1]!);
      i += 2;
      continue;
    }
    out += escapeRegExp(c);
    i += 1;
  }
  return { source: out, end: i };
}

function escapeRegExp(text: string): string {
  // Only syntax characters: the 'u' flag rejects escapes of anything else (such as '-').
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
