import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { afterAll, describe, expect, it } from 'vitest';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import {
  chunkBatchFromStaging,
  chunkTaskIdsFromEnv,
} from '../../../functions/engine/run/chunk-from-staging.js';
import { stagingLayout } from '../../../functions/engine/run/layout.js';
import { prepareOutput } from '../../../functions/engine/run/prepare-output.js';
import { writeRunSpec } from '../../../functions/engine/run/run-spec.js';
import { parseSpec } from '../../../functions/engine/spec/load.js';
import type { ChunkDescriptor } from '../../../functions/engine/types.js';
import {
  localRetryIntervals,
  readAsl,
  rewriteDistributedMaps,
  substitute,
} from '../../../functions/local/asl.js';
import {
  AWS_LIMITS,
  type AwsLimitError,
  assertContainerOverrides,
  payloadBytes,
  watchStatePayloads,
} from '../../../functions/local/limits.js';
import {
  finishMap,
  type MapResultsInput,
  type ReadItemsInput,
  readItems,
} from '../../../functions/local/map-io.js';
import { localSubstitutions } from '../../../functions/local/runner.js';
import '../../../functions/local/polyfills.js';

/**
 * Ten times the example, planned: a run of 10,000 Lambda chunks and 600 Fargate chunks whose CSV header
 * has 400 columns, through statemachines/pipeline.asl.json with every Task stubbed (no data is loaded).
 * Every state's input and output stays inside Step Functions' 256 KiB, the Fargate overrides inside ECS's
 * 8 KB, each Map inside 10,000 items; and the two designs issue 13 replaced fail here, naming the limit.
 */
const home = mkdtempSync(join(tmpdir(), 'sluice-dmap-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** The example's spec: its Map settings (one chunk per Lambda batch) are what a 10x run would use. */
const SPEC = readFileSync('pipelines/orders.yaml', 'utf8');

const header = Array.from({ length: 400 }, (_, i) => `customer_attribute_${i}`).join(',');
const chunk = (seq: number, route: 'lambda' | 'fargate'): ChunkDescriptor => ({
  id: `chunk-${String(seq).padStart(5, '0')}`,
  seq,
  bytes: route === 'lambda' ? 30_000_000 : 900_000_000,
  route,
  source: {
    key: `landing/tenfold/part-${seq}.csv`,
    etag: 'd41d8cd98f00b204e9800998ecf8427e',
    start: 0,
    end: 30_000_000,
    ...(route === 'fargate' ? { header } : {}),
  },
});

interface Outcome {
  status: 'succeeded' | 'failed';
  limitError?: AwsLimitError;
  error?: string;
  largest: { state: string; bytes: number };
  lambdaBatches: number;
  fargateTasks: number;
  overridesChars: number[];
}

async function planAndRun(
  name: string,
  counts: { lambda: number; fargate: number },
  // biome-ignore lint/suspicious/noExplicitAny: the tests edit the parsed ASL document in place
  edit: (definition: Record<string, any>) => void = () => {},
): Promise<Outcome> {
  const staging = new FolderStorage(join(home, name));
  const { spec } = parseSpec(SPEC, 'pipelines/orders.yaml');
  const runId = '00000000-0000-4000-8000-000000000001';
  const lambda = Array.from({ length: counts.lambda }, (_, i) => chunk(i, 'lambda'));
  const fargate = Array.from({ length: counts.fargate }, (_, i) => chunk(counts.lambda + i, 'fargate'));
  await writeRunSpec(staging, runId, { spec, specHash: 'h', specLocation: 'tenfold.yaml', baseDir: home });
  await staging.write(stagingLayout.lambdaItems(runId), JSON.stringify(lambda));
  await staging.write(stagingLayout.fargateItems(runId), JSON.stringify(fargate));
  const planned = prepareOutput(runId, spec, {
    lambdaChunks: lambda.length,
    fargateChunks: fargate.length,
    skippedSources: 0,
  });

  const definition = JSON.parse(substitute(readAsl(), localSubstitutions(spec, 'pipelines/orders.yaml')));
  edit(definition);
  const local = rewriteDistributedMaps(definition);
  const outcome: Outcome = {
    status: 'succeeded',
    largest: { state: '', bytes: 0 },
    lambdaBatches: 0,
    fargateTasks: 0,
    overridesChars: [],
  };
  const handlers = {
    Prepare: () => ({ Payload: planned }),
    LambdaChunksReadItems: (input: ReadItemsInput) => readItems(staging, 'LambdaChunks', input),
    FargateChunksReadItems: (input: ReadItemsInput) => readItems(staging, 'FargateChunks', input),
    LambdaChunksResults: (input: MapResultsInput) => finishMap(staging, input),
    FargateChunksResults: (input: MapResultsInput) => finishMap(staging, input),
    ProcessChunkBatch: (input: { Payload: { Items: ChunkDescriptor[] } }) => {
      outcome.lambdaBatches++;
      const chunks = input.Payload.Items.map((c) => ({
        id: c.id,
        status: 'loaded',
        counts: { read: 250_000, staged: 249_990, rejected: 10, filtered: 0, deduplicated: 0 },
      }));
      return { Payload: { chunks } };
    },
    RunChunkWorkerTask: async (input: {
      Overrides: { ContainerOverrides: { Environment: { Name: string; Value: string }[] }[] };
    }) => {
      outcome.fargateTasks++;
      outcome.overridesChars.push(JSON.stringify(input.Overrides).length);
      assertContainerOverrides('RunChunkWorkerTask', input.Overrides);
      const env = Object.fromEntries(
        input.Overrides.ContainerOverrides[0]!.Environment.map((e) => [e.Name, e.Value]),
      );
      // What the worker does with the ids: its chunk is the one Prepare planned.
      const batch = await chunkBatchFromStaging(staging, chunkTaskIdsFromEnv(env));
      expect(batch.Items[0]!.source.header).toBe(header);
      return {};
    },
    Commit: () => ({ Payload: { runId, status: 'succeeded', chunks: counts.lambda + counts.fargate } }),
    MarkFailed: () => ({ Payload: { runId } }),
  };
  // As the runner does: the Fail state's cause is generic, the task's own error is what a user reads.
  const wrapped = Object.fromEntries(
    Object.entries(handlers).map(([state, handler]) => [
      state,
      async (input: never) => {
        try {
          return await (handler as (i: never) => unknown)(input);
        } catch (err) {
          outcome.error ??= err instanceof Error ? err.message : String(err);
          throw err;
        }
      },
    ]),
  );
  const machine = new StateMachine(local as never, { validationOptions: { noValidate: true } });
  const execution = machine.run(
    {},
    {
      overrides: {
        taskResourceLocalHandlers: wrapped as never,
        retryIntervalOverrides: localRetryIntervals(local, { defaultMs: 0, lockMs: 0 }),
      },
      context: { Execution: { Id: `arn:aws:states:local:000000000000:execution:tenfold:${name}` } },
    },
  );
  const events = execution.eventLogs;
  async function* measured() {
    for await (const event of events) {
      const e = event as { type: string; state?: { name: string; input?: unknown; output?: unknown } };
      for (const payload of [e.state?.input, e.state?.output]) {
        const bytes = payload === undefined ? 0 : payloadBytes(payload);
        if (e.state && bytes > outcome.largest.bytes) outcome.largest = { state: e.state.name, bytes };
      }
      yield event as never;
    }
  }
  const watching = watchStatePayloads(measured(), (err) => {
    outcome.limitError ??= err;
    execution.abort();
  });
  try {
    await execution.result;
  } catch (err) {
    outcome.status = 'failed';
    outcome.error ??= err instanceof Error ? err.message : String(err);
  }
  await watching.catch(() => undefined);
  if (outcome.limitError) outcome.status = 'failed';
  return outcome;
}

// biome-ignore lint/suspicious/noExplicitAny: the parsed ASL document
const withoutResultWriters = (definition: Record<string, any>) => {
  const branches = definition.States.LoadChunks.Branches;
  delete branches[0].States.LambdaChunks.ResultWriter;
  delete branches[1].States.FargateChunks.ResultWriter;
};

describe('a 10,000-chunk run through the state machine (planned, not loaded)', () => {
  it('keeps every payload inside the AWS limits and runs every chunk once', async () => {
    const run = await planAndRun('tenfold', { lambda: 10_000, fargate: 600 });

    expect(run.limitError).toBeUndefined();
    expect(run.error).toBeUndefined();
    expect(run.status).toBe('succeeded');
    expect(run.lambdaBatches).toBe(10_000);
    expect(run.fargateTasks).toBe(600);
    // The largest state is a pointer-sized run description, nowhere near 256 KiB.
    expect(run.largest.bytes).toBeLessThan(16 * 1024);
    // Overrides carry ids only: the same small size whatever the chunk's header.
    expect(Math.max(...run.overridesChars)).toBeLessThan(400);
    expect(new Set(run.overridesChars).size).toBe(1);
    // Child results went to staging, as ResultWriter puts them.
    const written = [];
    for await (const o of new FolderStorage(join(home, 'tenfold')).list('runs/')) written.push(o.key);
    expect(written.filter((k) => k.endsWith('/manifest.json') && k.includes('/map-results/'))).toHaveLength(
      2,
    );
  }, 240_000);

  it('fails without ResultWriter: 10,000 child results do not fit in the state (issue 13)', async () => {
    const run = await planAndRun('no-writer', { lambda: 10_000, fargate: 0 }, withoutResultWriters);

    expect(run.status).toBe('failed');
    expect(run.error).toMatch(
      /^States\.DataLimitExceeded: the output of state LambdaChunks \(its child results, without a ResultWriter\) is \d+ bytes/,
    );
  }, 240_000);

  it('fails when a Fargate task is handed its whole chunk in the overrides (issue 13)', async () => {
    const run = await planAndRun('whole-chunk', { lambda: 0, fargate: 1 }, (definition) => {
      const task =
        definition.States.LoadChunks.Branches[1].States.FargateChunks.ItemProcessor.States.RunChunkWorkerTask;
      task.Parameters.Overrides.ContainerOverrides[0].Environment = [
        { Name: 'SLUICE_CHUNK_BATCH', 'Value.$': 'States.JsonToString($)' },
      ];
    });

    expect(run.status).toBe('failed');
    expect(run.error).toContain(`ECS allows ${AWS_LIMITS.containerOverridesChars}`);
  });

  it('fails a Map of more than 10,000 items, naming the limit', async () => {
    const run = await planAndRun('too-many', { lambda: 10_001, fargate: 0 });

    expect(run.status).toBe('failed');
    expect(run.error).toContain('Map LambdaChunks has 10001 items; a Map run may have at most 10000');
  }, 240_000);
});
