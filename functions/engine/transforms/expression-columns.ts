import type { FiltrexTree } from 'filtrex/dist/esnext/parser.mjs';
import { Parser } from 'filtrex/dist/esnext/parser.mjs';

/**
 * The columns an expression reads, found in the tree of filtrex's own parser (the one its compiler
 * uses, so what this reports is what a run will read): a name is a column unless it is called (a
 * function), is the field side of `field of object`, or is an unquoted constant (true, false, null).
 * Text inside strings and quoted names never leaks out as a column, which a scan of the text could not
 * promise.
 */

/** One column an expression reads, as written. */
export interface ExpressionColumn {
  name: string;
  /** `'odd name'`: read as one column, never as `column.field`. */
  quoted: boolean;
}

const CONSTANTS = new Set(['true', 'false', 'null']);

let parser: InstanceType<typeof Parser> | undefined;

function treeParser(): InstanceType<typeof Parser> {
  if (parser) return parser;
  parser = new Parser();
  parser.yy = {
    // The lexer has already checked the literal: only \\ and \<quote> are escapes.
    buildString: (_quote, literal) => literal.slice(1, -1).replace(/\\(.)/g, '$1'),
    // filtrex flattens a chained relation (a < b <= c) into a string; keep it a tree.
    reduceRelation: (items) => items,
  };
  return parser;
}

/**
 * The columns `source` reads, each once, in the order they first appear. Throws the parser's error when
 * the expression does not parse (compileRowExpression reports that one with its location).
 *
 * @example columnsReadBy('round(price * qty, 2)') // [{ name: 'price', ... }, { name: 'qty', ... }]
 */
export function columnsReadBy(source: string): ExpressionColumn[] {
  const found = new Map<string, ExpressionColumn>();
  walk(treeParser().parse(source), found);
  return [...found.values()];
}

function walk(node: FiltrexTree, found: Map<string, ExpressionColumn>): void {
  if (typeof node === 'string') return;
  const [head, symbol, next, object] = node;
  if ((head === 'prop(' || head === 'call(') && typeof symbol === 'string') {
    const { name, type } = JSON.parse(symbol) as { name: string; type: 'unescaped' | 'single-quoted' };
    if (head === 'call(') {
      // call(<name>, <arguments>): the arguments may read columns.
      for (const child of node.slice(2)) walk(child, found);
      return;
    }
    if (next === ', data)') {
      const quoted = type === 'single-quoted';
      if (!(!quoted && CONSTANTS.has(name)) && !found.has(name)) found.set(name, { name, quoted });
      return;
    }
    // prop(<field>, <object>): `field of object`; only the object side reads columns.
    if (object !== undefined) walk(object, found);
    return;
  }
  for (const child of node) walk(child, found);
}
