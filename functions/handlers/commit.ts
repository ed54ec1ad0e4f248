import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { commitPreparedRun } from '../engine/run/commit.js';
import type { RunSummary } from '../engine/types.js';
import { parseHandlerEnv } from './env.js';
import { eventSinkFromEnv } from './events.js';
import { engineLogger, logger, metrics, tracer } from './powertools.js';
import { sharedDeps } from './runtime.js';

const env = parseHandlerEnv();

/** Commit state: quality checks and the one transaction that makes the run visible. */
export async function commit(event: unknown): Promise<RunSummary> {
  const summary = await commitPreparedRun(
    event,
    await sharedDeps(env, engineLogger, eventSinkFromEnv(env, engineLogger)),
  );
  metrics.addDimension('pipeline', summary.pipeline);
  metrics.addMetric('RowsLoaded', 'Count', summary.loaded);
  metrics.addMetric('RowsRejected', 'Count', summary.rejected);
  metrics.addMetric('RejectRatio', 'Percent', summary.read ? (100 * summary.rejected) / summary.read : 0);
  metrics.addMetric('RunSucceeded', 'Count', 1);
  return summary;
}

export const handler = middy(commit)
  .use(injectLambdaContext(logger))
  .use(captureLambdaHandler(tracer))
  .use(logMetrics(metrics));
