// Checks of Distributed Map fields that asl-validator does not check (it accepts a bogus ItemBatcher key and InputType JSONX).

/**
 * The fields a Distributed Map accepts, from the Step Functions developer guide (ItemReader,
 * ItemBatcher, ResultWriter, ItemProcessor pages, read 2026-12-04). Each problem names the state and
 * the field.
 */
const ITEM_BATCHER_KEYS = [
  'MaxItemsPerBatch',
  'MaxItemsPerBatchPath',
  'MaxInputBytesPerBatch',
  'MaxInputBytesPerBatchPath',
  'BatchInput',
];
const ITEM_READER_KEYS = ['Resource', 'ReaderConfig', 'Parameters', 'Arguments'];
const READER_CONFIG_KEYS = [
  'InputType',
  'CSVHeaderLocation',
  'CSVHeaders',
  'CSVDelimiter',
  'MaxItems',
  'MaxItemsPath',
  'ManifestType',
  'Transformation',
];
const INPUT_TYPES = ['CSV', 'JSON', 'JSONL', 'MANIFEST', 'PARQUET'];
const READER_RESOURCES = ['arn:aws:states:::s3:getObject', 'arn:aws:states:::s3:listObjectsV2'];
const RESULT_WRITER_KEYS = ['Resource', 'Parameters', 'Arguments', 'WriterConfig'];
const WRITER_CONFIG = { OutputType: ['JSON', 'JSONL'], Transformation: ['NONE', 'COMPACT', 'FLATTEN'] };
const EXECUTION_TYPES = ['STANDARD', 'EXPRESS'];

type State = Record<string, unknown>;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every Distributed Map of a definition (nested in Parallel branches and Map processors too), by name. */
export function distributedMaps(definition: { States: Record<string, State> }): [string, State][] {
  const found: [string, State][] = [];
  const walk = (states: Record<string, State>) => {
    for (const [name, state] of Object.entries(states)) {
      const processor = state.ItemProcessor as
        | { ProcessorConfig?: { Mode?: string }; States?: never }
        | undefined;
      if (state.Type === 'Map' && processor?.ProcessorConfig?.Mode === 'DISTRIBUTED')
        found.push([name, state]);
      if (processor?.States) walk(processor.States);
      for (const branch of (state.Branches as { States: Record<string, State> }[] | undefined) ?? [])
        walk(branch.States);
    }
  };
  walk(definition.States);
  return found;
}

function unknownKeys(value: unknown, allowed: string[]): string[] {
  return isObject(value) ? Object.keys(value).filter((k) => !allowed.includes(k)) : [];
}

/** What is wrong with one Distributed Map's reader, batcher, writer and limits; empty when nothing. */
export function distributedMapProblems(name: string, state: State): string[] {
  const problems: string[] = [];
  const at = (field: string, message: string) => problems.push(`${name}.${field}: ${message}`);

  const batcher = state.ItemBatcher;
  if (batcher !== undefined) {
    for (const key of unknownKeys(batcher, ITEM_BATCHER_KEYS))
      at(`ItemBatcher.${key}`, `not an ItemBatcher field (${ITEM_BATCHER_KEYS.join(', ')})`);
    const b = batcher as Record<string, unknown>;
    if (
      b.MaxItemsPerBatch !== undefined &&
      !(Number.isInteger(b.MaxItemsPerBatch) && (b.MaxItemsPerBatch as number) >= 1)
    )
      at('ItemBatcher.MaxItemsPerBatch', 'must be a positive integer');
    if (
      b.MaxInputBytesPerBatch !== undefined &&
      !((b.MaxInputBytesPerBatch as number) >= 1 && (b.MaxInputBytesPerBatch as number) <= 262_144)
    )
      at('ItemBatcher.MaxInputBytesPerBatch', 'must be 1..262144 bytes');
    if (b.BatchInput !== undefined && !isObject(b.BatchInput))
      at('ItemBatcher.BatchInput', 'must be an object');
  }

  const reader = state.ItemReader;
  if (reader !== undefined) {
    const r = reader as Record<string, unknown>;
    for (const key of unknownKeys(reader, ITEM_READER_KEYS))
      at(`ItemReader.${key}`, 'not an ItemReader field');
    if (!READER_RESOURCES.includes(String(r.Resource)))
      at(
        'ItemReader.Resource',
        `must be one of ${READER_RESOURCES.join(', ')} (found ${JSON.stringify(r.Resource)})`,
      );
    for (const key of unknownKeys(r.ReaderConfig, READER_CONFIG_KEYS))
      at(`ItemReader.ReaderConfig.${key}`, 'not a ReaderConfig field');
    const inputType = (r.ReaderConfig as { InputType?: unknown } | undefined)?.InputType;
    if (r.Resource === 'arn:aws:states:::s3:getObject' && !INPUT_TYPES.includes(String(inputType)))
      at(
        'ItemReader.ReaderConfig.InputType',
        `must be one of ${INPUT_TYPES.join(', ')} (found ${JSON.stringify(inputType)})`,
      );
    const params = (r.Parameters ?? r.Arguments) as Record<string, unknown> | undefined;
    const has = (k: string) => params !== undefined && (k in params || `${k}.$` in params);
    if (!has('Bucket')) at('ItemReader.Parameters', 'needs Bucket');
    if (r.Resource === 'arn:aws:states:::s3:getObject' && !has('Key'))
      at('ItemReader.Parameters', 'needs Key');
  }

  const writer = state.ResultWriter;
  if (writer !== undefined) {
    const w = writer as Record<string, unknown>;
    for (const key of unknownKeys(writer, RESULT_WRITER_KEYS))
      at(`ResultWriter.${key}`, 'not a ResultWriter field');
    const params = (w.Parameters ?? w.Arguments) as Record<string, unknown> | undefined;
    if (w.Resource !== undefined) {
      if (w.Resource !== 'arn:aws:states:::s3:putObject')
        at(
          'ResultWriter.Resource',
          `must be arn:aws:states:::s3:putObject (found ${JSON.stringify(w.Resource)})`,
        );
      for (const key of ['Bucket', 'Prefix'])
        if (!params || !(key in params || `${key}.$` in params))
          at('ResultWriter.Parameters', `needs ${key}`);
    } else if (w.WriterConfig === undefined) {
      at('ResultWriter', 'needs Resource and Parameters (S3), or WriterConfig');
    }
    const config = w.WriterConfig as Record<string, unknown> | undefined;
    for (const key of unknownKeys(config, Object.keys(WRITER_CONFIG)))
      at(`ResultWriter.WriterConfig.${key}`, 'not a WriterConfig field');
    for (const [key, allowed] of Object.entries(WRITER_CONFIG)) {
      if (config?.[key] !== undefined && !allowed.includes(String(config[key])))
        at(`ResultWriter.WriterConfig.${key}`, `must be one of ${allowed.join(', ')}`);
    }
  }

  const processor =
    (state.ItemProcessor as { ProcessorConfig?: Record<string, unknown> }).ProcessorConfig ?? {};
  if (!EXECUTION_TYPES.includes(String(processor.ExecutionType)))
    at(
      'ItemProcessor.ProcessorConfig.ExecutionType',
      `must be STANDARD or EXPRESS (found ${JSON.stringify(processor.ExecutionType)})`,
    );
  const tolerated = state.ToleratedFailurePercentage;
  if (tolerated !== undefined && !((tolerated as number) >= 0 && (tolerated as number) <= 100))
    at('ToleratedFailurePercentage', 'must be 0..100');
  const concurrency = state.MaxConcurrency;
  if (
    concurrency !== undefined &&
    !(Number.isInteger(concurrency) && (concurrency as number) >= 0 && (concurrency as number) <= 10_000)
  )
    at('MaxConcurrency', 'must be an integer 0..10000');
  if (state.Label !== undefined && !/^[^\s?*<>{}[\]:;,\\|^~$#%&`"]{1,40}$/.test(String(state.Label)))
    at('Label', 'must be 1..40 characters without whitespace or special characters');
  return problems;
}
