import aslValidator from 'asl-validator';
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import {
  readAsl,
  retryingStateNames,
  rewriteDistributedMaps,
  substitute,
  substitutionKeys,
  taskStateNames,
} from '../../../functions/local/asl.js';
import '../../../functions/local/polyfills.js';

const values = Object.fromEntries(
  substitutionKeys(readAsl()).map((k) => [
    k,
    k.endsWith('Arn') ? `arn:aws:lambda:us-east-1:123456789012:function:${k}` : `${k}-value`,
  ]),
);

type Json = Record<string, unknown>;
const states = (def: Json) => def.States as Record<string, Json>;
const branches = (def: Json) => states(def).LoadChunks!.Branches as Json[];

describe('statemachines/pipeline.asl.json', () => {
  it('is valid ASL once substituted, and uses JSONPath (the local runner cannot run JSONata)', async () => {
    const definition = JSON.parse(substitute(readAsl(), values)) as Json;

    const validate = (aslValidator as unknown as { default?: typeof aslValidator }).default ?? aslValidator;
    const result = await validate(definition);

    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
    expect(definition.QueryLanguage).toBe('JSONPath');
    expect(JSON.stringify(definition)).not.toContain('"Assign"');
  });

  it('gives every Task a Retry with backoff and a Catch (directly or through its enclosing state)', () => {
    const definition = JSON.parse(substitute(readAsl(), values)) as Json;

    const tasks = taskStateNames(definition);
    expect(tasks).toEqual(['Prepare', 'ProcessChunkBatch', 'RunChunkWorkerTask', 'Commit', 'MarkFailed']);
    expect(retryingStateNames(definition)).toEqual(tasks);
    for (const name of ['Prepare', 'LoadChunks', 'Commit']) {
      expect(states(definition)[name]!.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'MarkFailed' },
      ]);
    }
  });

  it('fails when a substitution is missing, naming it', () => {
    const { PipelineName: _, ...rest } = values;

    expect(() => substitute(readAsl(), rest)).toThrow(
      'state machine definition needs substitutions for: PipelineName',
    );
  });

  it('escapes substituted values so a path cannot break the JSON', () => {
    const text = substitute(readAsl(), { ...values, SpecLocation: 'C:\\specs\\"odd".yaml' });

    const prepare = states(JSON.parse(text) as Json).Prepare!;
    expect((prepare.Parameters as { Payload: { specLocation: string } }).Payload.specLocation).toBe(
      'C:\\specs\\"odd".yaml',
    );
  });

  it('rewrites each Distributed Map into item reading + an inline Map, and leaves the tasks untouched', () => {
    const original = JSON.parse(substitute(readAsl(), values)) as Json;

    const local = rewriteDistributedMaps(original);

    const lambdaBranch = states(branches(local)[0]!);
    expect(lambdaBranch.HasLambdaChunks!.Choices).toEqual([
      expect.objectContaining({ Next: 'LambdaChunksReadItems' }),
    ]);
    expect(lambdaBranch.LambdaChunksReadItems).toMatchObject({
      Type: 'Task',
      Parameters: {
        Bucket: 'StagingBucket-value',
        'Key.$': '$.run.manifests.lambda',
        'MaxItemsPerBatch.$': '$.run.map.chunksPerBatch',
        Batched: true,
      },
      Next: 'LambdaChunks',
    });
    expect(lambdaBranch.LambdaChunks).not.toHaveProperty('ItemReader');
    expect(lambdaBranch.LambdaChunks!.ItemsPath).toBe('$.__sluiceItems.items');
    expect(lambdaBranch.LambdaChunks!.MaxConcurrencyPath).toBe('$.run.map.maxConcurrency');
    const originalTask = (states(branches(original)[0]!).LambdaChunks!.ItemProcessor as Json).States as Json;
    const localTask = (lambdaBranch.LambdaChunks!.ItemProcessor as Json).States as Json;
    expect(localTask.ProcessChunkBatch).toEqual(originalTask.ProcessChunkBatch);
    expect(original).toEqual(JSON.parse(substitute(readAsl(), values)));
  });

  it('is accepted by aws-local-stepfunctions after the rewrite', () => {
    const local = rewriteDistributedMaps(JSON.parse(substitute(readAsl(), values)) as Json);

    // The runner skips this validation at run time (it costs ~2 s per command), so it is proven here.
    expect(
      () => new StateMachine(local as never, { validationOptions: { checkPaths: true, checkArn: false } }),
    ).not.toThrow();
  });
});
