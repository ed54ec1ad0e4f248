import type { TransformSpec } from '../../../functions/engine/spec/schema.js';
import {
  compileTransforms,
  type TransformContext,
  type TransformOutcome,
} from '../../../functions/engine/transforms/index.js';
import type { Row } from '../../../functions/engine/types.js';

/** Compiles the transforms and runs them over each row, as a chunk worker would. */
export function runTransforms(
  specs: TransformSpec[],
  rows: Row[],
  ctx: TransformContext = { hashKeys: {} },
): TransformOutcome[] {
  const transform = compileTransforms(specs, ctx);
  return rows.map((row) => transform(row));
}

/** The single outcome of one row, as a plain object (class instances compare like literals). */
export function runOne(specs: TransformSpec[], row: Row, ctx?: TransformContext): TransformOutcome {
  return { ...runTransforms(specs, [row], ctx)[0]! };
}
