import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeHandler } from '../../../functions/handlers/make-handler.js';
import { metrics } from '../../../functions/handlers/powertools.js';
import { makeStepHandler } from '../../../functions/handlers/step-handler.js';

const context = {
  functionName: 'sluice-prod-orders-Prepare',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:sluice-prod-orders-Prepare',
  memoryLimitInMB: '1024',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

/** The JSON lines the handler wrote to stdout (Powertools logs and metrics). */
function captureStdout(): { lines: () => Record<string, unknown>[] } {
  const written: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => written.push(args.join(' ')));
  return {
    lines: () =>
      written
        .join('\n')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('makeHandler', () => {
  it("returns the core's result, with the Lambda context in its logs and its metrics flushed", async () => {
    const out = captureStdout();
    const handler = makeHandler(async (event: { n: number }) => {
      metrics.addMetric('ChunksPlanned', 'Count', event.n);
      return { planned: event.n };
    });

    const result = await handler({ n: 3 }, context);

    expect(result).toEqual({ planned: 3 });
    const emf = out.lines().find((l) => '_aws' in l);
    expect(emf).toMatchObject({ ChunksPlanned: 3, service: 'sluice' });
  });

  it('adds the Lambda request id to what the core logs', async () => {
    const out = captureStdout();
    const { logger } = await import('../../../functions/handlers/powertools.js');
    const handler = makeHandler(async () => logger.info('planned'), { metrics: false });

    await handler({}, context);

    expect(out.lines().find((l) => l.message === 'planned')).toMatchObject({
      function_request_id: context.awsRequestId,
      function_name: context.functionName,
    });
  });

  it('flushes no metrics when told not to (the starter and migration functions emit none)', async () => {
    const out = captureStdout();
    const handler = makeHandler(async () => 'ok', { metrics: false });

    await handler({}, context);

    expect(out.lines().filter((l) => '_aws' in l)).toEqual([]);
  });

  it('fails when the core fails, with its error', async () => {
    captureStdout();
    const handler = makeHandler(async () => {
      throw new Error('the run lock is held by another execution');
    });

    await expect(handler({}, context)).rejects.toThrow('the run lock is held by another execution');
  });
});

describe('makeStepHandler', () => {
  it('fails at cold start naming each missing variable', () => {
    vi.stubEnv('SLUICE_STAGING_BUCKET', undefined);
    vi.stubEnv('SLUICE_STAGING_DIR', undefined);
    vi.stubEnv('SLUICE_DATABASE_SECRET_ARN', undefined);
    vi.stubEnv('DATABASE_URL', 'mysql://x');

    expect(() => makeStepHandler(async () => 'never called')).toThrow(
      // A URL may carry a password: the value is never echoed.
      /invalid handler environment:\n {2}DATABASE_URL: .*\(found a value, not shown\)/,
    );
  });
});
