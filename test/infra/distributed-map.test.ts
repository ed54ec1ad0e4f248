import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { distributedMapProblems, distributedMaps } from './support/distributed-map.js';
import { FIXTURES, REPO_ROOT } from './support/synth.js';

/**
 * asl-validator checks the ASL grammar but accepts a bogus ItemBatcher key and `InputType: JSONX`
 * (issue 13.7): these are our own checks of the Distributed Map fields, against the Step Functions
 * guide, over the definition CDK deploys and the local runner executes.
 */
type Definition = { States: Record<string, Record<string, unknown>> };
const readDefinition = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Definition;

describe('Distributed Map fields', () => {
  it('statemachines/pipeline.asl.json: both Maps are distributed and every field is one Step Functions accepts', () => {
    const definition = readDefinition(join(REPO_ROOT, 'statemachines/pipeline.asl.json'));
    const maps = distributedMaps(definition);

    expect(maps.map(([name]) => name).sort()).toEqual(['FargateChunks', 'LambdaChunks']);
    for (const [name, state] of maps) expect(distributedMapProblems(name, state)).toEqual([]);
  });

  it('fails a bogus ItemBatcher key, an unknown InputType and a malformed ResultWriter, naming each', async () => {
    const definition = readDefinition(join(FIXTURES, 'asl/bad-distributed-map.asl.json'));
    const [[name, state]] = distributedMaps(definition) as [[string, Record<string, unknown>]];
    // The gap these checks close: asl-validator reports the ExecutionType only.
    const missed = JSON.stringify((await aslValidator(definition)).errors);
    for (const field of ['ItemBatcher', 'InputType', 'ResultWriter', 'ToleratedFailurePercentage'])
      expect(missed).not.toContain(field);

    expect(distributedMapProblems(name, state)).toEqual([
      'Chunks.ItemBatcher.MaxItemsPerBatchh: not an ItemBatcher field (MaxItemsPerBatch, MaxItemsPerBatchPath, MaxInputBytesPerBatch, MaxInputBytesPerBatchPath, BatchInput)',
      'Chunks.ItemReader.ReaderConfig.InputType: must be one of CSV, JSON, JSONL, MANIFEST, PARQUET (found "JSONX")',
      'Chunks.ResultWriter.Parameters: needs Prefix',
      'Chunks.ResultWriter.WriterConfig.OutputType: must be one of JSON, JSONL',
      'Chunks.ItemProcessor.ProcessorConfig.ExecutionType: must be STANDARD or EXPRESS (found "EXPRES")',
      'Chunks.ToleratedFailurePercentage: must be 0..100',
    ]);
  });
});
