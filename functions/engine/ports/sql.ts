/** SQL text helpers shared by the warehouse twins and the load protocol. Values always travel as $n params. */

/** Quotes one SQL identifier: `orders` → `"orders"`, `a"b` → `"a""b"`. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\u0000'))
    throw new Error(`not a usable SQL identifier: ${JSON.stringify(name)}`);
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Quotes a possibly schema-qualified name written without quotes: `public.orders` → `"public"."orders"`.
 * Names Sluice creates never contain dots, so a dot always separates schema and table.
 */
export function quoteQualified(name: string): string {
  const parts = name.split('.');
  if (parts.length > 2)
    throw new Error(`not a table name: ${JSON.stringify(name)} (expected table or schema.table)`);
  return parts.map(quoteIdent).join('.');
}

/** The two bodies a COPY takes: PostgreSQL CSV, or binary COPY (`functions/engine/validate/copy-binary.ts`). */
export type CopyFormat = 'csv' | 'binary';

/** `COPY "s"."t" ("a", "b") FROM <source> WITH (FORMAT csv|binary)`: the one COPY both twins run. */
export function copyCsvStatement(
  table: string,
  columns: string[],
  source: 'STDIN' | "'/dev/blob'",
  format: CopyFormat = 'csv',
): string {
  if (columns.length === 0) throw new Error(`COPY into ${table} needs at least one column`);
  return `COPY ${quoteQualified(table)} (${columns.map(quoteIdent).join(', ')}) FROM ${source} WITH (FORMAT ${format})`;
}
