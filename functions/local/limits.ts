/** The AWS limits the local runner emulates (Step Functions payloads, Map items, execution names; ECS overrides), enforced loudly. */
import { LOCAL_STATE_FIELD_PREFIX } from './asl.js';

/**
 * The limits, as AWS documents them:
 * - statePayloadBytes: "Maximum input or output size for a task, state, or execution: 262,144 bytes of
 *   data as a UTF-8 encoded string" (Step Functions quotas, docs.aws.amazon.com/step-functions/latest/dg/
 *   service-quotas.html). It is a terminal error (States.DataLimitExceeded): no Catch sees it.
 * - containerOverridesChars: RunTask `overrides`, "A total of 8192 characters are allowed for overrides.
 *   This limit includes the JSON formatting characters of the override structure" (ECS API reference).
 * - mapItemsPerRun: the issue's budget for one Map run: the most child workflow executions a Distributed
 *   Map runs at once is 10,000 (MaxConcurrency, Distributed Map docs); Sluice plans at most that many
 *   items per Map so a run is one wave of child executions (the item reader itself accepts more).
 * - executionNameChars: "names of state machines, executions, and activity tasks must not exceed 80
 *   characters" and must not contain whitespace, brackets, wildcards, `" # % \ ^ | ~ ` $ & , ; : /` or
 *   control characters (Step Functions quotas, general quotas).
 */
export const AWS_LIMITS = {
  statePayloadBytes: 262_144,
  containerOverridesChars: 8_192,
  mapItemsPerRun: 10_000,
  executionNameChars: 80,
} as const;

export type AwsLimit = keyof typeof AWS_LIMITS;

/** A payload, override, Map or name over an AWS limit: the run fails here as it would in AWS, naming the limit. */
export class AwsLimitError extends Error {
  constructor(
    readonly limit: AwsLimit,
    message: string,
  ) {
    super(message);
    this.name = 'AwsLimitError';
  }
}

/** The payload's size as Step Functions counts it (UTF-8 JSON), without the fields only the local rewrite adds. */
export function payloadBytes(payload: unknown): number {
  return Buffer.byteLength(JSON.stringify(withoutLocalFields(payload)) ?? 'null', 'utf8');
}

function withoutLocalFields(payload: unknown): unknown {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return payload;
  const entries = Object.entries(payload).filter(([k]) => !k.startsWith(LOCAL_STATE_FIELD_PREFIX));
  return Object.fromEntries(entries);
}

const KiB = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

/** @throws AwsLimitError when a state's input or output is over 256 KiB. */
export function assertStatePayload(state: string, direction: 'input' | 'output', payload: unknown): void {
  const bytes = payloadBytes(payload);
  if (bytes > AWS_LIMITS.statePayloadBytes)
    throw new AwsLimitError(
      'statePayloadBytes',
      `States.DataLimitExceeded: the ${direction} of state ${state} is ${bytes} bytes (${KiB(bytes)}); Step Functions allows ${AWS_LIMITS.statePayloadBytes} bytes (256 KiB) per state input or output`,
    );
}

/** @throws AwsLimitError when a RunTask's overrides are over 8,192 characters of JSON. */
export function assertContainerOverrides(state: string, overrides: unknown): void {
  const chars = JSON.stringify(overrides ?? {}).length;
  if (chars > AWS_LIMITS.containerOverridesChars)
    throw new AwsLimitError(
      'containerOverridesChars',
      `ECS RunTask in state ${state}: the container overrides are ${chars} characters; ECS allows ${AWS_LIMITS.containerOverridesChars} in all (JSON included): pass ids, keep data in staging`,
    );
}

/** @throws AwsLimitError when a Map run would have more than 10,000 items (batches, after ItemBatcher). */
export function assertMapItems(map: string, items: number): void {
  if (items > AWS_LIMITS.mapItemsPerRun)
    throw new AwsLimitError(
      'mapItemsPerRun',
      `Map ${map} has ${items} items; a Map run may have at most ${AWS_LIMITS.mapItemsPerRun} (batch chunks with chunking.chunksPerBatch, or make chunks bigger)`,
    );
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what Step Functions refuses
const FORBIDDEN_NAME_CHARS = /[\s?*<>{}[\]"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

/** @throws AwsLimitError for an execution name Step Functions would refuse (length or characters). */
export function assertExecutionName(name: string): void {
  if (name.length < 1 || name.length > AWS_LIMITS.executionNameChars)
    throw new AwsLimitError(
      'executionNameChars',
      `execution name "${name}" is ${name.length} characters; Step Functions allows 1 to ${AWS_LIMITS.executionNameChars}`,
    );
  const bad = FORBIDDEN_NAME_CHARS.exec(name);
  if (bad)
    throw new AwsLimitError(
      'executionNameChars',
      `execution name "${name}" contains ${JSON.stringify(bad[0])}, which Step Functions does not allow in a name`,
    );
}

/** The events of aws-local-stepfunctions this watcher reads (StateEntered / StateExited and the execution's own). */
interface WatchedEvent {
  type: string;
  input?: unknown;
  output?: unknown;
  state?: { name: string; input?: unknown; output?: unknown };
}

/**
 * Checks every state's input and output, and the execution's, as the local execution reports them, and
 * calls `onViolation` with the first that is over the limit (the runner then stops the execution, as
 * Step Functions does). The fields the local rewrite adds (`__sluice*`: the whole item manifest, the child
 * results before ResultWriter) hold what AWS keeps out of the state, and are not counted.
 */
export async function watchStatePayloads(
  events: AsyncIterable<WatchedEvent>,
  onViolation: (err: AwsLimitError) => void,
): Promise<void> {
  for await (const event of events) {
    try {
      if (event.type === 'ExecutionStarted') assertStatePayload('(execution)', 'input', event.input);
      else if (event.type === 'ExecutionSucceeded') assertStatePayload('(execution)', 'output', event.output);
      else if (event.state) {
        if (event.type === 'StateEntered') assertStatePayload(event.state.name, 'input', event.state.input);
        if (event.type === 'StateExited') assertStatePayload(event.state.name, 'output', event.state.output);
      }
    } catch (err) {
      if (err instanceof AwsLimitError) {
        onViolation(err);
        return;
      }
      throw err;
    }
  }
}
