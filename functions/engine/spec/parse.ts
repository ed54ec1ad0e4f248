import { createHash } from 'node:crypto';
import { type PipelineSpec, pipelineSpecSchema } from './schema.js';

/*
 * A spec's validation and its errors, without a YAML parser: what a Lambda needs to read a published
 * (JSON) spec. load.ts adds YAML, with lines and columns for every problem.
 */

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

/** Keys that name JavaScript's object machinery: dropped or misread by plain objects, so always refused. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function reservedKeyMessage(key: string): string {
  return `key "${key}" is not allowed: it is a reserved JavaScript name (__proto__, constructor and prototype are refused anywhere in a spec)`;
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
  /** Line and column of a field path in the spec's text (YAML specs), for problems found later. */
  locate?: Locate;
}

/** Where a field path sits in the spec text, for error messages. */
export type Locate = (path: string[]) => { line: number; column: number };

/** Validates a parsed spec; throws SpecError listing every problem, located by `locate`. */
export function checkSpec(raw: unknown, file: string, locate: Locate): LoadedSpec {
  const result = pipelineSpecSchema.safeParse(raw);
  if (!result.success) {
    throw new SpecError(
      result.error.issues.map((issue) => {
        const path = issuePath(issue);
        return { file, ...locate(path), path: path.join('.'), message: describeIssue(issue) };
      }),
    );
  }
  const spec = result.data;
  const contentHash = createHash('sha256').update(JSON.stringify(spec)).digest('hex');
  return { spec, file, contentHash };
}

/**
 * Parses a published spec: the JSON that CDK (and `sluice` deploys) write to staging, already checked
 * with lines and columns when it was published. Problems here carry the field path only (line 0).
 */
export function parsePublishedSpec(text: string, file: string): LoadedSpec {
  let raw: unknown;
  const reserved: SpecProblem[] = [];
  try {
    raw = JSON.parse(text, function refuseReservedKeys(this: unknown, key: string, value: unknown) {
      if (RESERVED_KEYS.has(key))
        reserved.push({ file, line: 0, column: 0, path: key, message: reservedKeyMessage(key) });
      return value;
    });
  } catch (err) {
    throw new SpecError([{ file, line: 0, column: 0, path: '', message: `JSON: ${(err as Error).message}` }]);
  }
  if (reserved.length > 0) throw new SpecError(reserved);
  return checkSpec(raw, file, () => ({ line: 0, column: 0 }));
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
