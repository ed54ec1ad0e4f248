import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { markRunFailed } from '../engine/run/fail.js';
import { parseHandlerEnv } from './env.js';
import { eventSinkFromEnv } from './events.js';
import { engineLogger, logger, metrics, tracer } from './powertools.js';
import { sharedDeps } from './runtime.js';

const env = parseHandlerEnv();

/** MarkFailed state: record the failure, release the lock, keep staging for redrive. */
export async function fail(event: unknown): Promise<{ runId?: string; error: string }> {
  const out = await markRunFailed(
    event,
    await sharedDeps(env, engineLogger, eventSinkFromEnv(env, engineLogger)),
  );
  metrics.addMetric('RunFailed', 'Count', 1);
  return out;
}

export const handler = middy(fail)
  .use(injectLambdaContext(logger))
  .use(captureLambdaHandler(tracer))
  .use(logMetrics(metrics));
