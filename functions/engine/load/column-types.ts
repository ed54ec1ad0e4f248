/**
 * Column types as the spec writes them versus as PostgreSQL reports them (`format_type()`), so a
 * table can be compared with its spec and the difference shown in the spec's words.
 */

const SPEC_TO_CATALOG: Record<string, string> = {
  timestamp: 'timestamp without time zone',
  timestamptz: 'timestamp with time zone',
};

/** The spec's type as `format_type()` prints it: `varchar(20)` → `character varying(20)`. */
export function catalogType(specType: string): string {
  const t = specType.trim().toLowerCase().replace(/\s+/g, ' ');
  const varchar = /^varchar\((\d+)\)$/.exec(t);
  if (varchar) return `character varying(${varchar[1]})`;
  const numeric = /^numeric\((\d+)(?:,\s*(\d+))?\)$/.exec(t);
  if (numeric) return `numeric(${numeric[1]},${numeric[2] ?? '0'})`;
  return SPEC_TO_CATALOG[t] ?? t;
}

/** A `format_type()` name in the spec's vocabulary: `timestamp with time zone` → `timestamptz`. */
export function specTypeName(catalog: string): string {
  const varchar = /^character varying\((\d+)\)$/.exec(catalog);
  if (varchar) return `varchar(${varchar[1]})`;
  for (const [spec, cat] of Object.entries(SPEC_TO_CATALOG)) if (cat === catalog) return spec;
  return catalog;
}
