import picomatch from 'picomatch';

/**
 * Glob matching for object keys ('/'-separated), the same for folders and S3, through picomatch:
 * `*` any characters but '/', `?` one character but '/', `**` as a whole segment any number of
 * segments (also none), `{a,b}` alternatives (nestable), `[abc]` / `[!abc]` a character class.
 * Dot files are not special. Bash extglobs (`+(a|b)`) and a leading `!` are off, so `(`, `)`, `+` and
 * `!` match themselves. test/unit/files/glob-differential.test.ts compares this with the hand-written
 * matcher it replaced.
 */
const OPTIONS: picomatch.PicomatchOptions = { dot: true, noextglob: true, nonegate: true, posix: true };

/** A RegExp that matches exactly the keys the glob names (a leading `./` is ignored). */
export function globToRegExp(pattern: string): RegExp {
  return picomatch.makeRe(escapeLiterals(pattern.replace(/^\.\//, '')), OPTIONS);
}

/**
 * What picomatch would read as syntax but a key glob takes literally: parentheses (regex groups in
 * picomatch even without extglobs) and a `{` that never closes (picomatch then matches nothing).
 */
function escapeLiterals(pattern: string): string {
  const chars = [...pattern];
  const open: number[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    const classEnd = c === '[' ? pattern.indexOf(']', i + 2) : -1;
    if (c === '\\') i += 1;
    else if (classEnd !== -1)
      i = classEnd; // a character class is picomatch's to read
    else if (c === '(' || c === ')') chars[i] = `\\${c}`;
    else if (c === '{') open.push(i);
    else if (c === '}') open.pop();
  }
  for (const i of open) chars[i] = '\\{';
  return chars.join('');
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
