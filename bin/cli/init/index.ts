// `sluice init <name> --from …`: samples a source and writes a commented spec that validates and runs.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { connectorRegistry } from '../../../functions/connectors/registry.js';
import { allowedRootsFromEnv } from '../../../functions/engine/ports/local-location.js';
import { formatProblem } from '../../../functions/engine/spec/parse.js';
import { pipelineSpecSchema } from '../../../functions/engine/spec/schema.js';
import { validateSpecFile } from '../../../functions/engine/spec/validate.js';
import { type InitColumn, suggestCursor, suggestKey, suggestPartition } from './choose.js';
import { InitRefusal, RESERVED_KEYS } from './errors.js';
import { sampleDatabase } from './from-database.js';
import { sampleFiles } from './from-files.js';
import { inferColumnType } from './infer-type.js';
import { destinationNames, tableName } from './names.js';
import { type InitSpecInput, renderSpec } from './render.js';
import type { SampleContext, SourceSample } from './sample.js';

export { InitRefusal } from './errors.js';

export interface InitOptions {
  /** The pipeline name (kebab-case); the table is the same in snake_case. */
  name: string;
  /** A folder, a file, s3://bucket/prefix[/file], postgres://…/db/table or mysql://…/db/table. */
  from: string;
  /** Where to write the spec. @default pipelines/<name>.yaml */
  out?: string;
  /** Overwrite an existing spec. */
  force?: boolean;
}

export interface InitResult {
  file: string;
  text: string;
  /** What a user should read: what was inferred, and the next commands. */
  summary: string[];
}

const PIPELINE_NAME = /^[a-z][a-z0-9-]{0,47}$/;
const DATABASE_URL = /^(postgres|postgresql|mysql|mariadb):\/\//;

/** Whether this build's spec lets a table have no partitioning (a lookup table): asked of the schema itself. */
export function partitioningIsOptional(): boolean {
  const probe = {
    name: 'probe',
    source: { connector: 'files', config: {} },
    destination: { table: 'probe', columns: { id: 'integer' } },
  };
  const result = pipelineSpecSchema.safeParse(probe);
  return (
    result.success ||
    !result.error.issues.some((i) => i.path[0] === 'destination' && i.path[1] === 'partitioning')
  );
}

const NO_SECRETS: SampleContext['credential'] = async (name, options) => {
  if (options?.optional) return undefined;
  throw new InitRefusal(`the source asks for the secret "${name}", which init does not read`);
};

/**
 * Samples `from` with the source's own connector, infers each column's type, nullability, a key and a
 * partition column, and writes the spec (after validating it as `sluice validate` would). Refuses,
 * with what to do, when the spec exists (without `force`), the source is empty, or a choice would be
 * a guess the spec cannot state.
 */
export async function initPipeline(options: InitOptions): Promise<InitResult> {
  if (!PIPELINE_NAME.test(options.name)) {
    throw new InitRefusal(
      `pipeline name "${options.name}" must be kebab-case: a-z, 0-9 and -, starting with a letter, at most 48 characters`,
    );
  }
  const file = options.out ?? join('pipelines', `${options.name}.yaml`);
  if (existsSync(file) && !options.force) {
    throw new InitRefusal(`${file} exists: pass --force to overwrite it, or --out to write elsewhere`);
  }
  const specDir = resolve(dirname(file));
  const ctx: SampleContext = {
    openStorage: () => {
      throw new Error('internal: init opens storage through the source it samples');
    },
    credential: NO_SECRETS,
  };
  const sample = DATABASE_URL.test(options.from)
    ? await sampleDatabase(options.from, options.name, ctx)
    : await sampleFiles(options.from, specDir, ctx);
  const spec = describe(options, sample);
  const text = renderSpec(spec);
  mkdirSync(specDir, { recursive: true });
  await writeValidated(file, text);
  const key = spec.key ? `key [${spec.key.columns.join(', ')}]` : 'no key';
  const partition = spec.partition ? `partitioned by ${spec.partition.column} (month)` : 'not partitioned';
  return {
    file,
    text,
    summary: [
      `wrote ${file}: ${spec.columns.length} columns from ${sample.described} (${sample.rows.length} rows sampled); ${key}; ${partition}`,
      `next: review it, then  npx sluice validate --source ${file}  and  npx sluice run ${options.name}`,
    ],
  };
}

/** Names, types, key and partitioning from a sample. */
function describe(options: InitOptions, sample: SourceSample): InitSpecInput {
  if (sample.names.length === 0 || (sample.rows.length === 0 && !sample.declared)) {
    throw new InitRefusal(`${sample.described} has no rows to infer column types from`);
  }
  const reserved = sample.names.find((n) => RESERVED_KEYS.has(n));
  if (reserved) {
    throw new InitRefusal(
      `${sample.described} has a column named "${reserved}", which a spec cannot name (not even to rename it): rename it in the source, or select the other columns`,
    );
  }
  const names = destinationNames(sample.names);
  const columns: InitColumn[] = sample.names.map((source, i) => {
    const inferred = inferColumnType(sample.rows.map((row) => row[source]));
    const declared = sample.declared?.get(source);
    // A catalog's NOT NULL is the truth; a file's OPTIONAL only says nulls may come: the sample decides.
    const nullable = declared
      ? sample.connector === 'parquet'
        ? declared.nullable && inferred.nullable
        : declared.nullable
      : inferred.nullable;
    const column: InitColumn = {
      source,
      name: names[i]!,
      type: declared?.type ?? inferred.type,
      nullable,
      distinct: inferred.distinct && inferred.present === sample.rows.length && sample.rows.length > 0,
    };
    if (!declared && inferred.cast) column.cast = inferred.cast;
    if (!declared && inferred.note) column.note = inferred.note;
    return column;
  });
  const byName = new Map(columns.map((c) => [c.source, c]));
  const table = tableName(options.name);
  const notes = [...sample.notes];

  const config = { ...sample.config };
  let cursor: InitColumn | undefined;
  if (sample.connector === 'postgres' || sample.connector === 'mysql') {
    cursor = suggestCursor(columns);
    if (cursor) {
      config.cursor = { column: cursor.source };
      notes.push(`incremental: each run reads the rows whose ${cursor.source} passed the last run's maximum`);
    }
    const [only, ...more] = sample.primaryKey ?? [];
    if (only && more.length === 0 && /^(smallint|integer|bigint)$/.test(byName.get(only)?.type ?? '')) {
      config.key = only;
    }
  }
  const primaryKey = sample.primaryKey?.map((k) => byName.get(k)?.name ?? k);
  let key = suggestKey(columns, table, primaryKey);
  const keyWhy = primaryKey?.length
    ? 'the primary key of the source'
    : `unique and never empty in the ${sample.rows.length} sampled rows`;
  const partition = suggestPartition(columns, cursor?.name);
  const optional = partitioningIsOptional();
  if (!partition && !optional) {
    throw new InitRefusal(
      `${sample.described} has no date or timestamp column that is never empty, and this Sluice needs one to partition the table by (destination.partitioning)`,
    );
  }
  // A partitioned table's unique key must contain the partition column (PostgreSQL's rule).
  let keyWithPartition = '';
  if (key && partition && !key.includes(partition.name)) {
    key = [...key, partition.name];
    keyWithPartition = `, with the partition column (PostgreSQL requires it in a partitioned table's key)`;
  }

  const unparseable = sample.unparseable.count
    ? [
        `${sample.unparseable.count} record(s) of the sample could not be read and will be rejected (first: ${sample.unparseable.first})`,
      ]
    : [];
  return {
    name: options.name,
    header: [
      `Written by \`sluice init ${options.name} --from ${redactPassword(options.from)}\` from ${sample.described}.`,
      `Types, nullability and the key come from ${sample.rows.length} sampled rows${sample.declared ? ' and what the source declares' : ''}: review them before the first run.`,
      ...unparseable,
    ],
    source: {
      connector: sample.connector,
      config,
      ...(sample.credentials ? { credentials: sample.credentials } : {}),
    },
    sourceNotes: notes,
    table,
    columns,
    ...(key ? { key: { columns: key, why: keyWhy + keyWithPartition } } : {}),
    ...(partition
      ? {
          partition: {
            column: partition.name,
            why: optional
              ? `a ${partition.type} column that is never empty in the sample`
              : `a ${partition.type} column that is never empty in the sample (this Sluice requires partitioning)`,
          },
        }
      : { noPartitionWhy: 'no date or timestamp column without empty values in the sample' }),
  };
}

function redactPassword(from: string): string {
  return from.replace(/^([a-z]+:\/\/[^:/@]*):[^@]*@/i, '$1:***@');
}

/** Writes the spec only once `sluice validate` would accept it: a spec init cannot vouch for is a bug. */
async function writeValidated(file: string, text: string): Promise<void> {
  const temp = join(dirname(file), `.${process.pid}.init.yaml`);
  writeFileSync(temp, text);
  try {
    const { problems } = await validateSpecFile(temp, connectorRegistry, {
      allowedRoots: allowedRootsFromEnv(),
    });
    if (problems.length > 0) {
      const listed = problems.map((p) => formatProblem({ ...p, file })).join('\n');
      throw new Error(
        `internal: the spec init inferred does not validate (please report it):\n${listed}\n---\n${text}`,
      );
    }
    renameSync(temp, file);
  } finally {
    rmSync(temp, { force: true });
  }
}
