import { evolveTargetTable, type NewColumn, type SpecMeta } from '../load/index.js';
import type { DiscoveredColumn } from '../ports/source.js';
import type { Warehouse } from '../ports/warehouse.js';
import type { LoadedSpec, SpecProblem } from '../spec/parse.js';
import { SpecError } from '../spec/parse.js';
import { type ColumnProblem, resolveColumns, schemaFrozenMessage } from '../spec/resolve-columns.js';
import type { PipelineSpec } from '../spec/schema.js';

/** What schema evolution did in a run; in the manifest, the summary and the run record. */
export interface SchemaEvolutionOutcome {
  policy: 'evolve' | 'freeze' | 'discard';
  /** Columns added to the target (evolve). */
  added: string[];
  /** Source columns not loaded (discard). */
  discarded: string[];
}

/**
 * Resolves the spec against the source's columns before anything loads: every name a transform, an
 * expression or the destination uses must resolve, and under `freeze` no source column may go
 * unloaded. Returns the source columns that reach no destination column (what evolve adds and
 * discard drops).
 *
 * @throws SpecError listing every problem with its file:line:col (line 0 for a published spec).
 */
export function resolveSourceColumns(loaded: LoadedSpec, columns: readonly DiscoveredColumn[]): NewColumn[] {
  const { spec } = loaded;
  const { problems, unreached = [] } = resolveColumns(spec, columns);
  const policy = spec.destination.schemaEvolution ?? 'discard';
  if (problems.length === 0 && policy === 'freeze' && unreached.length > 0) {
    const table = `${spec.destination.schema}.${spec.destination.table}`;
    problems.push({
      path: ['destination', 'schemaEvolution'],
      message: schemaFrozenMessage(table, spec.source.connector, unreached),
    });
  }
  if (problems.length > 0) throw new SpecError(problems.map((p) => locateProblem(loaded, p)));
  return unreached;
}

function locateProblem(loaded: LoadedSpec, problem: ColumnProblem): SpecProblem {
  const at = loaded.locate?.(problem.path.map(String)) ?? { line: 0, column: 0 };
  return { file: loaded.file, ...at, path: problem.path.join('.'), message: problem.message };
}

/**
 * Applies the destination's schemaEvolution policy to the source columns that reach no destination
 * column (resolveSourceColumns has refused them under freeze). Returns the spec the run must use
 * (with the added columns under evolve) and what happened.
 */
export async function applySchemaEvolution(
  wh: Warehouse,
  spec: PipelineSpec,
  unreached: NewColumn[],
  meta: SpecMeta,
): Promise<{ spec: PipelineSpec; outcome: SchemaEvolutionOutcome }> {
  const policy = spec.destination.schemaEvolution ?? 'discard';
  const none = { policy, added: [], discarded: [] };
  if (unreached.length === 0 || policy === 'freeze') return { spec, outcome: none };
  if (policy === 'discard') return { spec, outcome: { ...none, discarded: unreached.map((c) => c.name) } };
  const added = await evolveTargetTable(wh, spec.destination, unreached, meta);
  const evolved: PipelineSpec = {
    ...spec,
    destination: {
      ...spec.destination,
      columns: {
        ...spec.destination.columns,
        ...Object.fromEntries(unreached.map((c) => [c.name, { type: c.type, nullable: true }])),
      },
    },
  };
  return { spec: evolved, outcome: { ...none, added } };
}
