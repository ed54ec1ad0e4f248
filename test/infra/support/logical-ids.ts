import type { SynthResult } from './synth.js';

/** Each stack's resources as `logicalId → type`, sorted by logical id. */
export type LogicalIds = Record<string, Record<string, string>>;

function resourceTypes(template: { Resources?: Record<string, { Type: string }> }): Record<string, string> {
  const entries = Object.entries(template.Resources ?? {}).map(([id, r]) => [id, r.Type] as const);
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The logical ids of every stack a synth produced: the top-level stacks by stack name, each pipeline's
 * nested stack as `<platform stack>/<pipeline>`. A changed id is a replaced resource on the next deploy.
 */
export function logicalIdsOf(result: SynthResult): LogicalIds {
  const out: LogicalIds = {};
  for (const stack of result.assembly.stacks) out[stack.stackName] = resourceTypes(stack.template);
  for (const [name, template] of Object.entries(result.pipelines)) {
    out[`${result.platform.stackName}/${name}`] = resourceTypes(
      template.toJSON() as { Resources?: Record<string, { Type: string }> },
    );
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
