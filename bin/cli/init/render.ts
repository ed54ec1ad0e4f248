// `sluice init`: the pipeline spec as commented YAML, from what inference decided (pure).
import { stringify } from 'yaml';
import type { InitColumn } from './choose.js';

export interface InitSpecInput {
  name: string;
  /** First comment lines: how the spec was made (command, sample). */
  header: readonly string[];
  source: {
    connector: string;
    config: Record<string, unknown>;
    credentials?: Record<string, string>;
  };
  /** Comment lines shown above `source:` (a password to store, a cursor chosen). */
  sourceNotes: readonly string[];
  table: string;
  columns: readonly InitColumn[];
  key?: { columns: string[]; why: string };
  partition?: { column: string; why: string };
  /** Why there is no partitioning (when there is none), shown as a comment. */
  noPartitionWhy?: string;
}

/** A YAML scalar, quoted only when it has to be (JSON strings are valid YAML double-quoted scalars). */
function scalar(value: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(value) && !/^(true|false|yes|no|on|off|null|y|n)$/i.test(value)
    ? value
    : JSON.stringify(value);
}

/** `# …` comment text on one line (a line break in a source name must not end the comment). */
function comment(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/**
 * The spec text. Source names that are not destination names get one `rename`; dates in another layout
 * get a `cast` with the format; the key (when suggested) makes the mode `upsert`.
 */
export function renderSpec(input: InitSpecInput): string {
  const out: string[] = input.header.map((line) => `# ${comment(line)}`);
  out.push(`name: ${input.name}`, 'version: 1', '');
  for (const note of input.sourceNotes) out.push(`# ${comment(note)}`);
  out.push(stringify({ source: input.source }, { indent: 2, lineWidth: 0 }).trimEnd(), '');

  const renames = input.columns.filter((c) => c.source !== c.name);
  const casts = input.columns.filter((c) => c.cast);
  if (renames.length > 0 || casts.length > 0) {
    out.push('transforms:');
    if (renames.length > 0) {
      out.push('  # source names that are not SQL identifiers, renamed to the destination columns');
      out.push('  - rename:');
      for (const c of renames) out.push(`      ${JSON.stringify(c.source)}: ${c.name}`);
    }
    for (const c of casts) {
      out.push(
        `  - cast: { column: ${c.name}, to: ${c.cast!.to}, format: ${JSON.stringify(c.cast!.format)} }`,
      );
    }
    out.push('');
  }

  const mode = input.key ? 'upsert' : 'append';
  out.push(
    'destination:',
    '  schema: public',
    `  table: ${input.table}`,
    `  mode: ${mode} # ${input.key ? 'a row whose key was loaded before replaces it' : 'no key was found: every row is added'}`,
    '  columns:',
  );
  for (const c of input.columns) {
    const body = c.nullable ? `{ type: ${scalar(c.type)} }` : `{ type: ${scalar(c.type)}, nullable: false }`;
    const notes = [c.source !== c.name ? `from ${JSON.stringify(c.source)}` : '', c.note ?? ''].filter(
      Boolean,
    );
    out.push(`    ${c.name}: ${body}${notes.length ? ` # ${comment(notes.join('; '))}` : ''}`);
  }
  if (input.key) out.push(`  key: [${input.key.columns.join(', ')}] # ${comment(input.key.why)}`);
  else out.push('  # key: none suggested (no column is unique and never empty in the sample)');
  if (input.partition) {
    out.push(
      `  partitioning: { column: ${input.partition.column}, by: month } # ${comment(input.partition.why)}`,
    );
  } else if (input.noPartitionWhy) {
    out.push(`  # partitioning: none (${comment(input.noPartitionWhy)})`);
  }
  out.push('  schemaEvolution: freeze # a source column the table lacks fails the run, naming it', '');
  return `${out.join('\n')}\n`;
}
