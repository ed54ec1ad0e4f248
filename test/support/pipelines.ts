import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Warehouse } from '../../functions/engine/ports/warehouse.js';

/**
 * A copy of the example spec in a temp dir with a copy of the sample data (or of `dataDir`) under it, as
 * `data/orders`, with YAML edits applied as plain text replacements (so a test shows what it changed).
 */
export function exampleSpec(
  edits: [string, string][] = [],
  dataDir = resolve('pipelines/data/orders'),
): { dir: string; specFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-e2e-'));
  // A local location must stay inside its spec's folder tree: the data goes along with the spec.
  cpSync(dataDir, join(dir, 'data', 'orders'), { recursive: true });
  let text = readFileSync('pipelines/orders.yaml', 'utf8');
  for (const [from, to] of edits) {
    if (!text.includes(from)) throw new Error(`exampleSpec: "${from}" is not in pipelines/orders.yaml`);
    text = text.replace(from, to);
  }
  const specFile = join(dir, 'orders.yaml');
  writeFileSync(specFile, text);
  return { dir, specFile };
}

/** Row count and a checksum over every row of a table, ordered by its key: equal iff the contents are equal. */
export async function tableFingerprint(
  wh: Warehouse,
  table: string,
  orderBy: string,
): Promise<{ rows: number; checksum: string }> {
  const result = await wh.query<{ rows: number | string; checksum: string | null }>(
    `SELECT count(*) AS rows, md5(coalesce(string_agg(t::text, '|' ORDER BY ${orderBy}), '')) AS checksum FROM ${table} t`,
  );
  const row = result.rows[0]!;
  return { rows: Number(row.rows), checksum: row.checksum ?? '' };
}

export async function partitionsOf(wh: Warehouse, schema: string, table: string): Promise<string[]> {
  const result = await wh.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = p.relnamespace
      WHERE n.nspname = $1 AND p.relname = $2 ORDER BY 1`,
    [schema, table],
  );
  return result.rows.map((r) => r.name);
}
