import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { checkSpec, type LoadedSpec, SpecError, type SpecProblem } from './parse.js';
import {
  checkDocumentLimits,
  checkTextLimits,
  firstAliasOffset,
  type LimitProblem,
  SPEC_LIMITS,
} from './yaml-limits.js';

/** Parses and validates a spec's YAML text; throws SpecError listing every problem with its line. */
export function parseSpec(text: string, file = '<inline>'): LoadedSpec {
  const lineCounter = new LineCounter();
  const at = (offset: number | undefined) => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { line: pos.line, column: pos.col };
  };
  const fail = (problems: LimitProblem[]): never => {
    throw new SpecError(problems.map((p) => ({ file, ...at(p.offset), path: p.path, message: p.message })));
  };
  const textProblems = checkTextLimits(text);
  if (textProblems.length > 0) {
    // The LineCounter learns line starts while parsing: count the lines of the text alone for the place.
    lineCounter.addNewLine(0);
    for (const match of text.matchAll(/\n/g)) lineCounter.addNewLine(match.index + 1);
    fail(textProblems);
  }
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // Nesting deep enough to overflow the parser's stack gives a cascade of errors: one line says it.
    const overflow = doc.errors.find((e) =>
      /Maximum call stack size exceeded|Stack overflow/.test(e.message),
    );
    throw new SpecError(
      (overflow ? [overflow] : doc.errors).map(
        (e): SpecProblem => ({
          file,
          ...at(e.pos[0]),
          path: '',
          message: overflow
            ? `YAML: nested too deeply to parse (a spec may nest at most ${SPEC_LIMITS.maxDepth} levels)`
            : `YAML: ${e.message.split('\n')[0]}`,
        }),
      ),
    );
  }
  const limitProblems = checkDocumentLimits(doc);
  if (limitProblems.length > 0) fail(limitProblems);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: SPEC_LIMITS.maxAliasCount });
  } catch (err) {
    if (!(err instanceof ReferenceError) || !/alias/i.test(err.message)) throw err;
    fail([
      {
        offset: firstAliasOffset(doc),
        path: '',
        message: `YAML: the aliases expand to more nodes than a spec may have (maxAliasCount ${SPEC_LIMITS.maxAliasCount}): an alias bomb? write the values out instead`,
      },
    ]);
  }
  const locate = (path: string[]) => at(nearestNode(doc.contents as Node | null, path)?.range?.[0]);
  return { ...checkSpec(raw, file, locate), locate };
}

/**
 * Parses YAML text once and returns a lookup of the line and column of a field path (the nearest
 * existing node), for errors found after parsing.
 */
export function yamlLocator(text: string): (path: (string | number)[]) => { line: number; column: number } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  return (path) => {
    const node = nearestNode(doc.contents as Node | null, path.map(String));
    const pos = lineCounter.linePos(node?.range?.[0] ?? 0);
    return { line: pos.line, column: pos.col };
  };
}

export async function loadSpecFile(file: string): Promise<LoadedSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SpecError([
      {
        file,
        line: 0,
        column: 0,
        path: '',
        message: code === 'ENOENT' ? 'spec file not found' : `cannot read spec: ${String(err)}`,
      },
    ]);
  }
  return parseSpec(text, file);
}

/** Walks the YAML tree along a zod path; stops at the deepest node that exists (for missing keys, the parent). */
function nearestNode(root: Node | null, path: string[]): Node | null {
  let node: Node | null = root;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown })?.value ?? p.key) === key);
      if (!pair) return node;
      node = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node)) {
      const item = node.items[Number(key)] as Node | undefined;
      if (!item) return node;
      node = item;
    } else {
      return node;
    }
  }
  return node;
}
