import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { executionNameFor, startRunForObject } from '../../../functions/handlers/start-run.js';

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:sluice-prod-orders';
const event = (key: string, etag = '"9b2cf535f27731c974343645a3985328"') => ({
  version: '0',
  source: 'aws.s3',
  'detail-type': 'Object Created',
  detail: {
    bucket: { name: 'acme-landing' },
    object: { key, etag, size: 1024, sequencer: '00' },
    reason: 'PutObject',
  },
});

const sfn = mockClient(SFNClient);
beforeEach(() => sfn.reset());
const deps = () => ({ sfn: new SFNClient({ region: 'eu-west-1' }), stateMachineArn: SM });

describe('executionNameFor', () => {
  it('is the same for the same bucket, key and ETag, and different when any of them changes', () => {
    const a = executionNameFor({ bucket: 'b', key: 'incoming/orders/2026-01.csv', etag: 'e1' });
    expect(executionNameFor({ bucket: 'b', key: 'incoming/orders/2026-01.csv', etag: 'e1' })).toBe(a);
    expect(executionNameFor({ bucket: 'b', key: 'incoming/orders/2026-01.csv', etag: 'e2' })).not.toBe(a);
    expect(executionNameFor({ bucket: 'c', key: 'incoming/orders/2026-01.csv', etag: 'e1' })).not.toBe(a);
    expect(executionNameFor({ bucket: 'b', key: 'incoming/orders/2026-02.csv', etag: 'e1' })).not.toBe(a);
  });

  it('fits Step Functions: at most 80 characters of letters, digits, - and _', () => {
    for (const key of [
      'a.csv',
      `${'x/'.repeat(300)}very long name with spaces & ümlauts (1).csv.gz`,
      '日本語/データ.csv',
      '---',
    ]) {
      const name = executionNameFor({ bucket: 'b', key, etag: 'e' });
      expect(name.length).toBeLessThanOrEqual(80);
      expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
    }
    expect(executionNameFor({ bucket: 'b', key: 'incoming/orders-2026-01.csv', etag: 'e' })).toMatch(
      /^s3-orders-2026-01-csv-[0-9a-f]{40}$/,
    );
  });
});

describe('startRunForObject', () => {
  it('starts the run with the object as its trigger', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${SM}:x`, startDate: new Date() });
    const run = await startRunForObject(deps(), event('incoming/orders/2026-01.csv'));
    const input = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(input.stateMachineArn).toBe(SM);
    expect(input.name).toBe(run.executionName);
    expect(JSON.parse(input.input!)).toEqual({
      trigger: {
        type: 's3',
        bucket: 'acme-landing',
        key: 'incoming/orders/2026-01.csv',
        etag: '9b2cf535f27731c974343645a3985328',
      },
    });
    expect(run.duplicate).toBe(false);
  });

  it('treats a repeated event as already started: one run per object version', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: 'arn:first', startDate: new Date() })
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const first = await startRunForObject(deps(), event('incoming/orders/2026-01.csv'));
    const again = await startRunForObject(deps(), event('incoming/orders/2026-01.csv'));
    expect(again).toEqual({
      executionName: first.executionName,
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:sluice-prod-orders:${first.executionName}`,
      duplicate: true,
    });
    const names = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(names[0]).toBe(names[1]);
  });

  it('fails on other Step Functions errors, so EventBridge retries and then dead-letters the event', async () => {
    sfn.on(StartExecutionCommand).rejects(new Error('ThrottlingException'));
    await expect(startRunForObject(deps(), event('k.csv'))).rejects.toThrow('ThrottlingException');
  });

  it('fails on an event that is not an S3 Object Created event, naming the field', async () => {
    await expect(
      startRunForObject(deps(), { source: 'aws.s3', 'detail-type': 'Object Deleted', detail: {} }),
    ).rejects.toThrow(/detail-type/);
    await expect(
      startRunForObject(deps(), {
        ...event('k.csv'),
        detail: { bucket: { name: 'b' }, object: { key: 'k' } },
      }),
    ).rejects.toThrow(/etag/);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});
