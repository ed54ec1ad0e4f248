import { evolveTargetTable, type NewColumn, type SpecMeta } from '../load/index.js';
import type { DiscoveredColumn } from '../ports/source.js';
import type { Warehouse } from '../ports/warehouse.js';
import { COLUMN_TYPE_PATTERN, type PipelineSpec } from '../spec/schema.js';

/** What schema evolution did in a run; in the manifest and the summary. */
export interface SchemaEvolutionOutcome {
  policy: 'evolve' | 'freeze' | 'discard';
  /** Columns added to the target (evolve). */
  added: string[];
  /** Source columns not loaded (discard). */
  discarded: string[];
}

export class SchemaFrozenError extends Error {
  constructor(table: string, source: string, columns: NewColumn[]) {
    super(
      `schemaEvolution is freeze and source ${source} has ${columns.length} column(s) that ${table} does not: ${columns
        .map((c) => `${c.name} (${c.type})`)
        .join(', ')}; add them to destination.columns or set schemaEvolution: evolve or discard`,
    );
    this.name = 'SpecError';
  }
}

/**
 * The source columns that would reach the destination under their own name but that it does not
 * have: after the spec's `select`, `drop` and `rename` transforms. Columns the transforms drop on
 * purpose are not new.
 */
export function newSourceColumns(discovered: DiscoveredColumn[], spec: PipelineSpec): NewColumn[] {
  let names = discovered.map((c) => ({ name: c.name, type: c.type }));
  for (const t of spec.transforms) {
    if ('select' in t) names = names.filter((c) => t.select.includes(c.name));
    if ('drop' in t) names = names.filter((c) => !t.drop.includes(c.name));
    if ('rename' in t) names = names.map((c) => ({ ...c, name: t.rename[c.name] ?? c.name }));
  }
  const derived = new Set(spec.transforms.flatMap((t) => ('derive' in t ? Object.keys(t.derive) : [])));
  return names
    .filter((c) => !(c.name in spec.destination.columns) && !derived.has(c.name))
    .map((c) => ({ name: c.name, type: COLUMN_TYPE_PATTERN.test(c.type) ? c.type : 'text' }));
}

/**
 * Applies the destination's schemaEvolution policy to the discovered columns. Returns the spec the
 * run must use (with the added columns under evolve) and what happened.
 *
 * @throws SchemaFrozenError under freeze when the source has new columns.
 */
export async function applySchemaEvolution(
  wh: Warehouse,
  spec: PipelineSpec,
  discovered: DiscoveredColumn[],
  meta: SpecMeta,
): Promise<{ spec: PipelineSpec; outcome: SchemaEvolutionOutcome }> {
  const policy = spec.destination.schemaEvolution ?? 'discard';
  const fresh = newSourceColumns(discovered, spec);
  const none = { policy, added: [], discarded: [] };
  if (fresh.length === 0) return { spec, outcome: none };
  const table = `${spec.destination.schema}.${spec.destination.table}`;
  if (policy === 'freeze') throw new SchemaFrozenError(table, spec.source.connector, fresh);
  if (policy === 'discard') return { spec, outcome: { ...none, discarded: fresh.map((c) => c.name) } };
  const added = await evolveTargetTable(wh, spec.destination, fresh, meta);
  const evolved: PipelineSpec = {
    ...spec,
    destination: {
      ...spec.destination,
      columns: {
        ...spec.destination.columns,
        ...Object.fromEntries(fresh.map((c) => [c.name, { type: c.type, nullable: true }])),
      },
    },
  };
  return { spec: evolved, outcome: { ...none, added } };
}
