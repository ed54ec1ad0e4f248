import type { TransformSpec } from '../spec/schema.js';
import type { Row } from '../types.js';
import { compileCase } from './case.js';
import { compileCast } from './cast.js';
import { compileDedupe, type Deduper } from './dedupe.js';
import { compileDefault } from './default.js';
import { compileDerive } from './derive.js';
import { compileDrop } from './drop.js';
import { TransformConfigError } from './errors.js';
import { compileFilter } from './filter.js';
import { compileHash } from './hash.js';
import { compileRename } from './rename.js';
import { compileSelect } from './select.js';
import { isStop, type RowStep } from './step.js';
import { compileTrim } from './trim.js';

export type { Deduper } from './dedupe.js';
export { TransformConfigError } from './errors.js';
export { EXPRESSION_FUNCTIONS } from './expression.js';

export type TransformOutcome =
  | { kind: 'row'; row: Row }
  | { kind: 'filtered' }
  | { kind: 'rejected'; column?: string; reason: string };

export interface TransformContext {
  /** HMAC keys already resolved from secrets, by secret name (the `keySecret` of hash transforms). */
  hashKeys: Record<string, Buffer>;
}

/**
 * Compiles the spec's transform list once per chunk into one function per row, applying the
 * transforms in spec order. The input row is never changed (a reject record can show it as read).
 * Every row gives an outcome; nothing is thrown per row. `dedupe` is not applied here: see
 * createDeduper. Throws TransformConfigError (e.g. `transforms[3].derive.total: invalid expression
 * ...`) for a bad expression, format, option or unresolved hash key.
 */
export function compileTransforms(
  specs: readonly TransformSpec[],
  ctx: TransformContext,
): (row: Row) => TransformOutcome {
  const steps: RowStep[] = [];
  specs.forEach((spec, i) => {
    const step = compileTransform(spec, `transforms[${i}]`, ctx);
    if (step) steps.push(step);
  });
  const count = steps.length;
  const copyInput = needsCopy(specs);

  return (input) => {
    let row: Row = copyInput ? { ...input } : input;
    for (let i = 0; i < count; i++) {
      const result = steps[i]!(row);
      if (isStop(result)) return result;
      row = result;
    }
    return { kind: 'row', row };
  };
}

/** Names of the secrets the transforms need (hash `keySecret`), in spec order, each once. */
export function secretsNeededBy(specs: readonly TransformSpec[]): string[] {
  const names = new Set<string>();
  for (const spec of specs) if ('hash' in spec) names.add(spec.hash.keySecret);
  return [...names];
}

/**
 * The within-chunk state for the spec's `dedupe` transform, keyed by `dedupe.key` or else the
 * destination key; undefined when the spec has no dedupe. Feed it the transformed rows in order.
 */
export function createDeduper(
  specs: readonly TransformSpec[],
  destinationKey: readonly string[] | undefined,
): Deduper | undefined {
  const at = specs.findIndex((spec) => 'dedupe' in spec);
  if (at === -1) return undefined;
  const spec = specs[at] as Extract<TransformSpec, { dedupe: unknown }>;
  const path = `transforms[${at}].dedupe`;
  const later = specs.findIndex((s, i) => i > at && 'dedupe' in s);
  if (later !== -1)
    throw new TransformConfigError(
      `transforms[${later}].dedupe`,
      `only one dedupe is allowed (another is at ${path})`,
    );
  const key = spec.dedupe.key ?? destinationKey;
  if (!key || key.length === 0)
    throw new TransformConfigError(`${path}.key`, 'is required when destination.key is not set');
  return compileDedupe(key, spec.dedupe.keep ?? 'last', path);
}

function compileTransform(spec: TransformSpec, path: string, ctx: TransformContext): RowStep | undefined {
  if ('select' in spec) return compileSelect(spec.select, `${path}.select`);
  if ('drop' in spec) return compileDrop(spec.drop, `${path}.drop`);
  if ('rename' in spec) return compileRename(spec.rename, `${path}.rename`);
  if ('cast' in spec) return compileCast(spec.cast, `${path}.cast`);
  if ('default' in spec) return compileDefault(spec.default, `${path}.default`);
  if ('derive' in spec) return compileDerive(spec.derive, `${path}.derive`);
  if ('filter' in spec) return compileFilter(spec.filter, `${path}.filter`);
  if ('trim' in spec) return compileTrim(spec.trim, `${path}.trim`);
  if ('case' in spec) return compileCase(spec.case, `${path}.case`);
  if ('hash' in spec) return compileHash(spec.hash, `${path}.hash`, ctx.hashKeys);
  if ('dedupe' in spec) return undefined;
  throw new TransformConfigError(path, `unknown transform ${JSON.stringify(Object.keys(spec as object))}`);
}

/**
 * Whether the row must be copied before the first step that changes it in place. A leading `select`
 * builds a fresh row anyway and `filter` only reads, so they spare the copy.
 */
function needsCopy(specs: readonly TransformSpec[]): boolean {
  for (const spec of specs) {
    if ('select' in spec) return false;
    if ('filter' in spec || 'dedupe' in spec) continue;
    return true;
  }
  return false;
}
