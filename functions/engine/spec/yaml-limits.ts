import { type Document, isAlias, isMap, isPair, isScalar, isSeq, Lexer, type Node } from 'yaml';
import { RESERVED_KEYS, reservedKeyMessage } from './parse.js';

/*
 * What a spec's YAML may not do, checked before its values are built: a pipeline spec is a few KiB of
 * plain mappings, so anything far beyond that is a mistake or an attack (an alias bomb that expands to
 * billions of nodes, nesting that overflows the parser's stack, keys that reach JavaScript prototypes).
 * Each limit is reported with its line and column, like every other spec problem.
 */

export const SPEC_LIMITS = {
  /** Bytes of YAML text. The example pipeline is ~2 KiB. */
  maxBytes: 256 * 1024,
  /** Nesting of mappings and sequences. A spec needs about 6. */
  maxDepth: 64,
  /** Alias expansions while building values (the yaml package's maxAliasCount). */
  maxAliasCount: 100,
};

/** A limit crossed at `offset` in the text; `path` is the dotted field path when known. */
export interface LimitProblem {
  offset: number;
  path: string;
  message: string;
}

/** The Lexer's synthetic tokens (document start, flow end, scalar): no text of the source. */
const SYNTHETIC_TOKENS = new Set(['\x02', '\x18', '\x1f']);

/** Size and flow nesting, from the text alone: nesting that would overflow the parser never reaches it. */
export function checkTextLimits(text: string): LimitProblem[] {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > SPEC_LIMITS.maxBytes) {
    return [
      {
        offset: SPEC_LIMITS.maxBytes,
        path: '',
        message: `YAML: the spec is ${bytes} bytes, more than the ${SPEC_LIMITS.maxBytes} a spec may have`,
      },
    ];
  }
  let depth = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') {
      depth++;
      if (depth > SPEC_LIMITS.maxDepth) return [tooDeep(offset, '')];
    } else if (token === ']' || token === '}') {
      depth--;
    }
    if (!SYNTHETIC_TOKENS.has(token)) offset += token.length;
  }
  return [];
}

/**
 * Reserved keys and nesting depth over the parsed document, iteratively (a recursive walk is what
 * overflows on deep input).
 */
export function checkDocumentLimits(doc: Document): LimitProblem[] {
  const problems: LimitProblem[] = [];
  const stack: { node: unknown; depth: number; path: string[] }[] = [
    { node: doc.contents, depth: 0, path: [] },
  ];
  while (stack.length > 0) {
    const { node, depth, path } = stack.pop()!;
    if (isMap(node) || isSeq(node)) {
      if (depth + 1 > SPEC_LIMITS.maxDepth) {
        problems.push(tooDeep(node.range?.[0] ?? 0, path.join('.')));
        continue;
      }
      node.items.forEach((item, index) => {
        if (isPair(item)) {
          const key = isScalar(item.key) ? String(item.key.value) : undefined;
          if (key !== undefined && RESERVED_KEYS.has(key)) {
            problems.push({
              offset: (item.key as Node).range?.[0] ?? 0,
              path: [...path, key].join('.'),
              message: reservedKeyMessage(key),
            });
          }
          stack.push({ node: item.key, depth: depth + 1, path });
          stack.push({ node: item.value, depth: depth + 1, path: [...path, key ?? '?'] });
        } else {
          stack.push({ node: item, depth: depth + 1, path: [...path, String(index)] });
        }
      });
    }
  }
  return problems.sort((a, b) => a.offset - b.offset);
}

/** Where the first alias is, for the alias-count error (which the yaml package raises without a place). */
export function firstAliasOffset(doc: Document): number {
  let first = Number.POSITIVE_INFINITY;
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isAlias(node)) first = Math.min(first, node.range?.[0] ?? 0);
    else if (isMap(node) || isSeq(node))
      for (const item of node.items) {
        if (isPair(item)) stack.push(item.key, item.value);
        else stack.push(item);
      }
  }
  return Number.isFinite(first) ? first : 0;
}

function tooDeep(offset: number, path: string): LimitProblem {
  return {
    offset,
    path,
    message: `YAML: nested more than ${SPEC_LIMITS.maxDepth} levels deep (a spec needs a handful)`,
  };
}
