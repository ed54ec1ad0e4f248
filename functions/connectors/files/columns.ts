import type { Storage } from '../../sdk/index.js';
import { RecordColumns } from '../../sdk/record-columns.js';
import type { DiscoveredColumn } from '../../sdk/source.js';
import type { FilesSourceConfig } from './config.js';
import { SourceError } from './errors.js';
import { describeObject, planFileChunks } from './plan.js';
import { readFileChunk } from './read.js';
import type { FileChunkSource, PlannedFiles } from './types.js';

/**
 * The columns a files source offers, learnt while planning: for CSV, the header (or `csv.columns`)
 * that every planned file must share; for JSON Lines, the keys of the first records of each planned
 * file (a sample: JSON Lines has no header), in first-seen order, with a type when the sample agrees.
 */

/** Records sampled from the start of each JSON Lines file. */
export const JSONL_SAMPLE_RECORDS = 100;

/**
 * The columns of the files a plan reads. CSV files of one run must agree on their columns (in any
 * order): a file whose header differs is a SourceError naming it, the first file and the columns that
 * differ. Mixing shapes in one run would load NULL into the columns a file lacks without a word;
 * `schemaEvolution` governs the difference between the source and the table, across runs.
 * Undefined when the plan reads nothing.
 */
export async function plannedColumns(
  storage: Storage,
  config: FilesSourceConfig,
  planned: Pick<PlannedFiles, 'chunks'>,
): Promise<DiscoveredColumn[] | undefined> {
  const byFile = new Map<string, FileChunkSource[]>();
  for (const { source } of planned.chunks) {
    const chunks = byFile.get(source.key);
    if (chunks) chunks.push(source);
    else byFile.set(source.key, [source]);
  }
  if (byFile.size === 0) return undefined;
  if (config.format === 'csv') return csvColumns(storage, byFile);
  return jsonLinesColumns(storage, config, byFile);
}

function csvColumns(storage: Storage, byFile: Map<string, FileChunkSource[]>): DiscoveredColumn[] {
  let first: { key: string; names: string[] } | undefined;
  for (const [key, chunks] of byFile) {
    const names = chunks[0]?.header ?? [];
    if (!first) {
      first = { key, names };
      continue;
    }
    const known = new Set(first.names);
    const here = new Set(names);
    const added = names.filter((n) => !known.has(n));
    const lacking = first.names.filter((n) => !here.has(n));
    if (added.length > 0 || lacking.length > 0) {
      const diff = [
        added.length > 0 ? `has ${quoted(added)} that ${first.key} has not` : '',
        lacking.length > 0 ? `lacks ${quoted(lacking)}` : '',
      ]
        .filter(Boolean)
        .join(' and ');
      throw new SourceError(
        `${describeObject(storage, key)}: its columns differ from ${first.key}'s: it ${diff}. ` +
          'Files of one run must have the same columns: load them in separate runs (narrow `pattern`) or align their headers',
      );
    }
  }
  return (first?.names ?? []).map((name) => ({ name, type: 'text', nullable: true }));
}

async function jsonLinesColumns(
  storage: Storage,
  config: FilesSourceConfig,
  byFile: Map<string, FileChunkSource[]>,
): Promise<DiscoveredColumn[]> {
  const columns = new RecordColumns();
  for (const chunks of byFile.values()) {
    let sampled = 0;
    for (const chunk of chunks) {
      for await (const record of readFileChunk(storage, config, chunk)) {
        if (record.kind !== 'row') continue;
        columns.add(record.row);
        if (++sampled >= JSONL_SAMPLE_RECORDS) break;
      }
      if (sampled >= JSONL_SAMPLE_RECORDS) break;
    }
  }
  return columns.list();
}

function quoted(names: string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

/**
 * The columns of the first file the source matches (key order), for `sluice validate --source`:
 * its header, or a sample of its records. Reads that one file, not the whole set.
 */
export async function discoverFileColumns(
  storage: Storage,
  config: FilesSourceConfig,
): Promise<DiscoveredColumn[]> {
  let first: string | undefined;
  const planned = await planFileChunks(storage, config, {
    targetBytes: Number.POSITIVE_INFINITY,
    alreadyLoaded: ({ key }) => {
      first ??= key;
      return key !== first;
    },
  });
  const columns = await plannedColumns(storage, config, planned);
  if (!columns) {
    if (first === undefined) return [];
    throw new SourceError(
      `${describeObject(storage, first)} has no records to read its columns from${config.format === 'csv' ? ' (and no header)' : ''}`,
    );
  }
  return columns;
}
