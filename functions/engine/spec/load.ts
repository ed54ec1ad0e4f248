import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { type PipelineSpec, pipelineSpecSchema } from './schema.js';

/** One problem in a spec, located as precisely as the YAML allows. */
export interface SpecProblem {
  file: string;
  line: number;
  column: number;
  /** Dotted field path, e.g. destination.columns.amount.type */
  path: string;
  message: string;
}

export class SpecError extends Error {
  constructor(readonly problems: SpecProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'SpecError';
  }
}

export function formatProblem(p: SpecProblem): string {
  return `${p.file}:${p.line}:${p.column} ${p.path || '(root)'}: ${p.message}`;
}

export interface LoadedSpec {
  spec: PipelineSpec;
  /** Absolute or relative path the spec was read from ('<inline>' for text). */
  file: string;
  /** sha256 over the parsed spec: a run records it so history shows which spec loaded what. */
  contentHash: string;
}

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
  const result = pipelineSpecSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issuePath(issue);
      const node = nearestNode(doc.contents as Node | null, path);
      return { file, ...at(node?.range?.[0]), path: path.join('.'), message: describeIssue(issue) };
    });
    throw new SpecError(problems);
  }
  const spec = result.data;
  const contentHash = createHash('sha256').update(JSON.stringify(spec)).digest('hex');
  return { spec, file, contentHash };
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

/** The field an issue is about; for an unknown field, the field itself rather than the object holding it. */
export function issuePath(issue: IssueLike): string[] {
  const path = issue.path.map(String);
  return issue.code === 'unrecognized_keys' && issue.keys?.length ? [...path, issue.keys[0]!] : path;
}

export interface IssueLike {
  code: string;
  message: string;
  path: PropertyKey[];
  keys?: string[];
  expected?: string;
  input?: unknown;
}

export function describeIssue(issue: IssueLike): string {
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined)
    return `is required (${issue.expected ?? 'value'})`;
  if (issue.code === 'invalid_union')
    return 'is not a known form (see `sluice schema` for the accepted shapes)';
  return issue.message;
}
