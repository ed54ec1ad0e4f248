import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { EngineLogger, RunEventSink } from '../engine/run/deps.js';
import type { HandlerEnv } from './env.js';
import { logEventSink } from './runtime.js';

/**
 * RunSucceeded / RunFailed to the stage's event bus (source `sluice`), or to the log when staging is a
 * folder (a local run of the handlers). Only the commit and fail handlers import this, so only their
 * bundles carry the EventBridge client and only their roles may call events:PutEvents.
 */
export function eventSinkFromEnv(env: HandlerEnv, logger: EngineLogger): RunEventSink {
  if (!env.SLUICE_STAGING_BUCKET) return logEventSink(logger);
  const client = new EventBridgeClient({});
  return {
    async emit(detailType, detail) {
      const out = await client.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'sluice',
              DetailType: detailType,
              Detail: JSON.stringify(detail),
              ...(env.SLUICE_EVENT_BUS_NAME ? { EventBusName: env.SLUICE_EVENT_BUS_NAME } : {}),
            },
          ],
        }),
      );
      if (out.FailedEntryCount) logger.warn('event not delivered', { detailType, entries: out.Entries });
    },
  };
}
