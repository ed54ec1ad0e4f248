import { createHash } from 'node:crypto';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import { makeHandler } from './make-handler.js';
import { logger, tracer } from './powertools.js';

/** The part of an EventBridge "Object Created" event from S3 that starting a run needs. */
export const objectCreatedEventSchema = z.object({
  source: z.literal('aws.s3'),
  'detail-type': z.literal('Object Created'),
  detail: z.object({
    bucket: z.object({ name: z.string().min(3) }),
    object: z.object({ key: z.string().min(1), etag: z.string().min(1) }),
  }),
});
export type ObjectCreatedEvent = z.input<typeof objectCreatedEventSchema>;

/** What the run is told about the object that started it (the state machine input). */
export interface S3Trigger {
  type: 's3';
  bucket: string;
  key: string;
  etag: string;
}

export interface StartedRun {
  executionName: string;
  executionArn: string;
  /** True when an earlier delivery of the same event already started this run. */
  duplicate: boolean;
}

/**
 * The execution name of the run an object starts: the same object version (bucket, key, ETag) always
 * gives the same name, so a repeated delivery cannot start a second run. Step Functions allows 80
 * characters of [A-Za-z0-9-_]: a readable tail of the key, then a sha256 of the three.
 */
export function executionNameFor(trigger: Pick<S3Trigger, 'bucket' | 'key' | 'etag'>): string {
  const digest = createHash('sha256')
    .update(`${trigger.bucket}\n${trigger.key}\n${trigger.etag}`)
    .digest('hex')
    .slice(0, 40);
  const base = trigger.key.split('/').pop() ?? '';
  const readable = base
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(-32);
  return readable ? `s3-${readable}-${digest}` : `s3-${digest}`;
}

/**
 * Starts the pipeline's run for one uploaded object, exactly once per object version: a name that was
 * already used (a retried or duplicated event) counts as started.
 */
export async function startRunForObject(
  deps: { sfn: SFNClient; stateMachineArn: string },
  event: unknown,
): Promise<StartedRun> {
  const { detail } = objectCreatedEventSchema.parse(event);
  const trigger: S3Trigger = {
    type: 's3',
    bucket: detail.bucket.name,
    key: detail.object.key,
    etag: detail.object.etag.replace(/"/g, ''),
  };
  const executionName = executionNameFor(trigger);
  const executionArn = executionArnOf(deps.stateMachineArn, executionName);
  try {
    const out = await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: deps.stateMachineArn,
        name: executionName,
        input: JSON.stringify({ trigger }),
      }),
    );
    return { executionName, executionArn: out.executionArn ?? executionArn, duplicate: false };
  } catch (err) {
    if (err instanceof ExecutionAlreadyExists) return { executionName, executionArn, duplicate: true };
    throw err;
  }
}

/** `arn:…:stateMachine:<name>` → `arn:…:execution:<name>:<executionName>`. */
export function executionArnOf(stateMachineArn: string, executionName: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
}

const envSchema = z.object({
  SLUICE_STATE_MACHINE_ARN: z
    .string({
      error:
        'SLUICE_STATE_MACHINE_ARN is not set: the CDK pipeline construct sets it to the state machine to start',
    })
    .startsWith('arn:', 'SLUICE_STATE_MACHINE_ARN must be a state machine ARN'),
});

let deps: { sfn: SFNClient; stateMachineArn: string } | undefined;

/** Parsed on first use (not at import), so tests can import the core without an environment. */
function coldStartDeps(): { sfn: SFNClient; stateMachineArn: string } {
  if (!deps) {
    const env = envSchema.parse(process.env);
    deps = {
      sfn: tracer.captureAWSv3Client(new SFNClient({})),
      stateMachineArn: env.SLUICE_STATE_MACHINE_ARN,
    };
  }
  return deps;
}

async function startRun(event: unknown): Promise<StartedRun> {
  const run = await startRunForObject(coldStartDeps(), event);
  logger.info(run.duplicate ? 'run already started for this object' : 'run started', { ...run });
  return run;
}

export const handler = makeHandler(startRun, { metrics: false });
