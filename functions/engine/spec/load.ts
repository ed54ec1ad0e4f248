import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { checkSpec, type LoadedSpec, SpecError } from './parse.js';

/** Parses and validates a spec's YAML text; throws SpecError listing every problem with its line. */
export function parseSpec(text: string, file = '<inline>'): LoadedSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { line: pos.line, column: pos.col };
  };
  if (doc.errors.length > 0) {
    throw new SpecError(
      doc.errors.map((e) => ({
        file,
        ...at(e.pos[0]),
        path: '',
        message: `YAML: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  return checkSpec(raw, file, (path) => at(nearestNode(doc.contents as Node | null, path)?.range?.[0]));
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
