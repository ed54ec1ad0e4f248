import { describe, expect, it } from 'vitest';
import {
  AWS_LIMITS,
  AwsLimitError,
  assertContainerOverrides,
  assertExecutionName,
  assertMapItems,
  assertStatePayload,
  payloadBytes,
  watchStatePayloads,
} from '../../../functions/local/limits.js';
import { applyResultPath } from '../../../functions/local/map-io.js';

/** The AWS limits the local runner enforces: each at its documented edge, and each violation named. */
describe('AWS limits in the local runner', () => {
  const limitOf = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(AwsLimitError);
      return { limit: (err as AwsLimitError).limit, message: (err as Error).message };
    }
    return undefined;
  };

  it('counts a payload as UTF-8 JSON, without the fields only the local rewrite adds', () => {
    expect(payloadBytes({ a: 'é' })).toBe(Buffer.byteLength('{"a":"é"}'));
    expect(payloadBytes({ a: 1, __sluiceItems: { items: ['x'.repeat(1000)] } })).toBe(7);
  });

  it('accepts a state payload of exactly 262,144 bytes and fails at one more, naming the state and the limit', () => {
    const exact = 'x'.repeat(AWS_LIMITS.statePayloadBytes - 2); // the two quotes of a JSON string
    expect(payloadBytes(exact)).toBe(262_144);
    expect(limitOf(() => assertStatePayload('Prepare', 'output', exact))).toBeUndefined();
    const over = limitOf(() => assertStatePayload('Prepare', 'output', `${exact}y`));
    expect(over?.limit).toBe('statePayloadBytes');
    expect(over?.message).toContain('States.DataLimitExceeded: the output of state Prepare is 262145 bytes');
    expect(over?.message).toContain('256 KiB');
  });

  it('fails container overrides over 8,192 characters of JSON', () => {
    const overrides = (value: string) => ({
      ContainerOverrides: [{ Name: 'worker', Environment: [{ Name: 'X', Value: value }] }],
    });
    const frame = JSON.stringify(overrides('')).length;
    expect(
      limitOf(() => assertContainerOverrides('Run', overrides('v'.repeat(8192 - frame)))),
    ).toBeUndefined();
    const over = limitOf(() => assertContainerOverrides('Run', overrides('v'.repeat(8193 - frame))));
    expect(over?.limit).toBe('containerOverridesChars');
    expect(over?.message).toContain('8193 characters; ECS allows 8192');
  });

  it('fails a Map run of more than 10,000 items', () => {
    expect(limitOf(() => assertMapItems('LambdaChunks', 10_000))).toBeUndefined();
    const over = limitOf(() => assertMapItems('LambdaChunks', 10_001));
    expect(over?.limit).toBe('mapItemsPerRun');
    expect(over?.message).toContain('Map LambdaChunks has 10001 items');
  });

  it('fails an execution name over 80 characters or with a character Step Functions refuses', () => {
    expect(limitOf(() => assertExecutionName('a'.repeat(80)))).toBeUndefined();
    expect(limitOf(() => assertExecutionName('orders-2026-01_csv-0123abcd'))).toBeUndefined();
    expect(limitOf(() => assertExecutionName('a'.repeat(81)))?.message).toContain(
      '81 characters; Step Functions allows 1 to 80',
    );
    for (const bad of ['a b', 'a:b', 'a/b', 'a{b', 'a\u0001b', 'a"b'])
      expect(limitOf(() => assertExecutionName(bad))?.limit, bad).toBe('executionNameChars');
  });

  it('watches every state input and output of an execution and reports the first over the limit', async () => {
    const big = 'x'.repeat(AWS_LIMITS.statePayloadBytes);
    async function* events() {
      yield { type: 'ExecutionStarted', input: {} };
      yield { type: 'StateEntered', state: { name: 'Prepare', input: {} } };
      yield { type: 'StateExited', state: { name: 'Prepare', input: {}, output: { __sluiceItems: big } } };
      yield { type: 'StateEntered', state: { name: 'Commit', input: { run: big } } };
      yield { type: 'StateExited', state: { name: 'Commit', input: {}, output: { big } } };
    }
    const seen: AwsLimitError[] = [];
    await watchStatePayloads(events(), (err) => seen.push(err));
    expect(seen.map((e) => e.message)).toEqual([expect.stringContaining('the input of state Commit')]);
  });

  it('applies a Map ResultPath (null, $, $.a.b) as Step Functions does', () => {
    expect(applyResultPath({ a: 1 }, null, 'r')).toEqual({ a: 1 });
    expect(applyResultPath({ a: 1 }, '$', { r: 1 })).toEqual({ r: 1 });
    expect(applyResultPath({ a: 1 }, '$.x.y', 'r')).toEqual({ a: 1, x: { y: 'r' } });
    expect(() => applyResultPath({}, '$[0]', 'r')).toThrow(/ResultPath/);
  });
});
