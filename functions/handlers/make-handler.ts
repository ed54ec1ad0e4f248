import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { logger, metrics, tracer } from './powertools.js';

export interface MakeHandlerOptions {
  /**
   * Flush the metrics the core adds (Powertools `logMetrics`) after every invocation.
   * @default true
   */
  readonly metrics?: boolean;
}

/**
 * The one middy + Powertools chain of every Lambda: the logger gets the Lambda context, the tracer
 * wraps the invocation in a segment, the metrics are flushed once it returns or throws (the order
 * of Powertools' middy examples). A handler file is the core it wraps.
 *
 * @example export const handler = makeHandler(startRun, { metrics: false });
 */
export function makeHandler<TEvent, TResult>(
  core: (event: TEvent) => Promise<TResult>,
  options: MakeHandlerOptions = {},
) {
  const handler = middy(core).use(injectLambdaContext(logger)).use(captureLambdaHandler(tracer));
  return (options.metrics ?? true) ? handler.use(logMetrics(metrics)) : handler;
}
