/** The state machine steps' wiring; apart from make-handler.ts so the starter and migration bundles never carry the engine's adapters. */
import type { EngineDeps, EngineLogger, RunEventSink } from '../engine/run/deps.js';
import { type HandlerEnv, parseHandlerEnv } from './env.js';
import { makeHandler } from './make-handler.js';
import { engineLogger } from './powertools.js';
import { sharedDeps } from './runtime.js';

export interface StepHandlerOptions {
  /**
   * Where the core's run events go (RunSucceeded / RunFailed): pass `eventSinkFromEnv` from
   * events.ts, so only the handlers that emit events bundle the EventBridge client.
   * @default - the log
   */
  readonly events?: (env: HandlerEnv, logger: EngineLogger) => RunEventSink;
}

/**
 * A state machine step: the handler environment parsed now (at cold start, failing with every wrong
 * variable named), the engine's dependencies created on first use and kept while the container is
 * warm, and the core called with both.
 */
export function makeStepHandler<TResult>(
  core: (event: unknown, deps: EngineDeps) => Promise<TResult>,
  options: StepHandlerOptions = {},
) {
  const env = parseHandlerEnv();
  const events = options.events?.(env, engineLogger);
  return makeHandler(async (event: unknown) => core(event, await sharedDeps(env, engineLogger, events)));
}
