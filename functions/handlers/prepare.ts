import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { type PrepareInput, prepareInputSchema, prepareRun } from '../engine/run/prepare.js';
import type { PrepareOutput } from '../engine/run/prepare-output.js';
import { parseHandlerEnv } from './env.js';
import { engineLogger, logger, metrics, tracer } from './powertools.js';
import { sharedDeps } from './runtime.js';

const env = parseHandlerEnv();

/** Prepare state: lock, plan, write manifests; returns pointers only. */
export async function prepare(event: PrepareInput): Promise<PrepareOutput> {
  const input = prepareInputSchema.parse(event);
  const deps = await sharedDeps(env, engineLogger);
  const out = await prepareRun(input, { ...deps, holder: input.executionId ?? deps.holder });
  metrics.addMetric('ChunksPlanned', 'Count', out.lambdaChunks + out.fargateChunks);
  return out;
}

export const handler = middy(prepare)
  .use(injectLambdaContext(logger))
  .use(captureLambdaHandler(tracer))
  .use(logMetrics(metrics));
