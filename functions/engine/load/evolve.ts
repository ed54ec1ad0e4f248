// Schema evolution `evolve`: source columns the destination lacks are added as nullable columns, recorded.
import { appendAudit } from '../audit/log.js';
import { quoteIdent, quoteQualified } from '../ports/sql.js';
import type { Warehouse } from '../ports/warehouse.js';
import { COLUMN_TYPE_PATTERN, type DestinationSpec } from '../spec/schema.js';
import { readTableShape } from './migrate.js';
import { type SpecMeta, targetTableName } from './target.js';

/** A column the source gained that the destination does not have yet. */
export interface NewColumn {
  name: string;
  /** A destination type (`text`, `bigint`, `timestamptz`, …). */
  type: string;
}

/**
 * Schema evolution `evolve`: adds the source's new columns to the target as nullable columns, in one
 * transaction under the table's lock, and records the migration in `sluice.table_versions` (the
 * definition lists the added columns) and in the audit log. Columns that already exist are skipped,
 * so a rerun is a no-op. Returns the columns it added.
 */
export async function evolveTargetTable(
  wh: Warehouse,
  dest: DestinationSpec,
  columns: NewColumn[],
  meta: SpecMeta,
): Promise<string[]> {
  const table = targetTableName(dest);
  for (const c of columns) {
    if (!COLUMN_TYPE_PATTERN.test(c.type))
      throw new Error(`new column "${c.name}": unsupported type ${c.type}`);
  }
  return wh.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`sluice.table.${table}`]);
    const existing = new Set((await readTableShape(tx, dest)).columns.map((c) => c.name));
    const added = columns.filter((c) => !existing.has(c.name));
    if (added.length === 0) return [];
    for (const c of added) {
      await tx.query(`ALTER TABLE ${quoteQualified(table)} ADD COLUMN ${quoteIdent(c.name)} ${c.type}`);
    }
    const evolved: DestinationSpec = {
      ...dest,
      columns: {
        ...dest.columns,
        ...Object.fromEntries(added.map((c) => [c.name, { type: c.type, nullable: true }])),
      },
    };
    const names = added.map((c) => c.name);
    // table_versions allows 'created' | 'verified' (migration 1); an evolution is keyed by its own
    // hash so each one is a row of its own, and its definition says what was added.
    await tx.query(
      `INSERT INTO sluice.table_versions (table_schema, table_name, pipeline, spec_version, spec_hash, action, definition)
       VALUES ($1, $2, $3, $4, $5, 'verified', $6::jsonb)
       ON CONFLICT (table_schema, table_name, spec_hash) DO NOTHING`,
      [
        dest.schema,
        dest.table,
        meta.pipeline,
        meta.version,
        `${meta.hash}+evolved:${names.join(',')}`,
        JSON.stringify({
          columns: evolved.columns,
          key: dest.key ?? null,
          partitioning: dest.partitioning ?? null,
          evolved: { added: added.map((c) => ({ name: c.name, type: c.type, nullable: true })) },
        }),
      ],
    );
    await appendAudit(tx, {
      kind: 'schema.migrated',
      pipeline: meta.pipeline,
      detail: { table, action: 'evolved', added: names, specVersion: meta.version, specHash: meta.hash },
    });
    return names;
  });
}
