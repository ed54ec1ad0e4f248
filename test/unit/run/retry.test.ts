import { describe, expect, it } from 'vitest';
import { WarehouseUnavailableError } from '../../../functions/engine/ports/warehouse.js';
import {
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  isTransientError,
  RetriesExhaustedError,
  retryTransient,
  transientReason,
} from '../../../functions/engine/run/retry.js';

const withCode = (code: string, message = 'driver error') => Object.assign(new Error(message), { code });

describe('transientReason', () => {
  it.each([
    ['57P01', /admin_shutdown/],
    ['57P03', /cannot_connect_now/],
    ['53300', /too_many_connections/],
    ['40001', /serialization failure/],
    ['40P01', /deadlock/],
    ['08006', /connection failed/],
    ['ECONNRESET', /reset/],
    ['EPIPE', /closed while writing/],
    ['ECONNREFUSED', /refused/],
    ['PROTOCOL_CONNECTION_LOST', /lost/],
  ])('retries code %s', (code, reason) => {
    expect(transientReason(withCode(code))).toMatch(reason);
    expect(transientReason(withCode(code))).toContain(`(${code})`);
  });

  it.each([
    'Connection terminated unexpectedly',
    'Connection terminated',
    'Client has encountered a connection error and is not queryable',
    'timeout exceeded when trying to connect',
  ])('retries node-postgres saying "%s" (no code)', (message) => {
    expect(isTransientError(new Error(message))).toBe(true);
  });

  it('finds the driver error under the adapter and connector wrappers', () => {
    const wrapped = new WarehouseUnavailableError(
      'postgres://u@h:5432/db',
      withCode('ECONNRESET', 'read ECONNRESET'),
    );
    expect(transientReason(wrapped)).toBe('the connection was reset (ECONNRESET)');
    const twice = new Error('reading events: Connection lost', {
      cause: withCode('PROTOCOL_CONNECTION_LOST'),
    });
    expect(isTransientError(new Error('chunk failed', { cause: twice }))).toBe(true);
    expect(isTransientError(new AggregateError([withCode('ECONNREFUSED')], 'connect failed'))).toBe(true);
  });

  it.each([
    ['a unique violation', withCode('23505', 'duplicate key value violates unique constraint')],
    ['a syntax error', withCode('42601', 'syntax error at or near "SELEC"')],
    ['a wrong password', withCode('28P01', 'password authentication failed for user "loader"')],
    ['a host that does not exist', withCode('ENOTFOUND', 'getaddrinfo ENOTFOUND db.example')],
    ['a plain error', new Error('quality check failed: 4 rows to load, fewer than quality.minRows 5')],
    ['a non-error', 'ECONNRESET'],
  ])('does not retry %s', (_what, err) => {
    expect(transientReason(err)).toBeUndefined();
  });

  it('does not retry what already ran out of retries (no nested multiplication)', () => {
    const exhausted = new RetriesExhaustedError(
      'load chunk c1',
      5,
      1000,
      'the connection was reset',
      withCode('ECONNRESET'),
    );
    expect(isTransientError(exhausted)).toBe(false);
    expect(isTransientError(new Error('outer', { cause: exhausted }))).toBe(false);
  });

  it('survives a cause cycle', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    a.cause = new Error('b', { cause: a });
    expect(transientReason(a)).toBeUndefined();
  });
});

describe('backoffDelayMs', () => {
  const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };

  it('doubles from the base, with half of it jittered, never zero', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, policy, () => 0))).toEqual([50, 100, 200, 400]);
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, policy, () => 1))).toEqual([100, 200, 400, 800]);
  });

  it('never exceeds maxDelayMs', () => {
    expect(backoffDelayMs(20, policy, () => 1)).toBe(1000);
    expect(backoffDelayMs(20, policy, () => 0)).toBe(500);
  });
});

describe('retryTransient', () => {
  const fast = { sleep: async () => {}, random: () => 0 };

  it('replays a step after transient errors and returns its result', async () => {
    const seen: number[] = [];
    const result = await retryTransient(
      'commit run r1',
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 3) throw withCode('ECONNRESET');
        return 'committed';
      },
      fast,
    );
    expect(result).toBe('committed');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('fails when the error is not transient, at once and unchanged', async () => {
    const err = withCode('23505', 'duplicate key');
    let attempts = 0;
    await expect(
      retryTransient(
        'commit run r1',
        async () => {
          attempts++;
          throw err;
        },
        fast,
      ),
    ).rejects.toBe(err);
    expect(attempts).toBe(1);
  });

  it('fails when maxAttempts run out, saying what, how often and why', async () => {
    let attempts = 0;
    const failing = retryTransient(
      'load chunk chunk-00001 of run r1',
      async () => {
        attempts++;
        throw withCode('57P01', 'terminating connection due to administrator command');
      },
      { ...fast, policy: { maxAttempts: 3 } },
    );
    await expect(failing).rejects.toThrow(
      /^load chunk chunk-00001 of run r1 failed 3 time\(s\) in \d+\.\d s because the server shut the connection down \(admin_shutdown\) \(57P01\): terminating connection due to administrator command$/,
    );
    await expect(failing).rejects.toBeInstanceOf(RetriesExhaustedError);
    expect(attempts).toBe(3);
  });

  it('fails when maxTotalMs would be exceeded by the next pause', async () => {
    let clock = 0;
    let attempts = 0;
    await expect(
      retryTransient(
        'mark run r1 failed',
        async () => {
          attempts++;
          clock += 400;
          throw withCode('ECONNREFUSED');
        },
        {
          policy: { maxAttempts: 100, baseDelayMs: 100, maxDelayMs: 100, maxTotalMs: 950 },
          now: () => clock,
          sleep: async (ms) => {
            clock += ms;
          },
          random: () => 1,
        },
      ),
    ).rejects.toBeInstanceOf(RetriesExhaustedError);
    // 400 ms, a 100 ms pause, 400 ms (900 ms in all): the next pause would pass 950 ms.
    expect(attempts).toBe(2);
  });

  it('tells onRetry about every retry with its pause and reason', async () => {
    const retries: { attempt: number; delayMs: number; reason: string }[] = [];
    await retryTransient(
      'start run r1',
      async (attempt) => {
        if (attempt === 1) throw withCode('40P01', 'deadlock detected');
        return undefined;
      },
      {
        ...fast,
        policy: { baseDelayMs: 80 },
        onRetry: ({ attempt, delayMs, reason }) => retries.push({ attempt, delayMs, reason }),
      },
    );
    expect(retries).toEqual([
      { attempt: 1, delayMs: 40, reason: 'the transaction was chosen as a deadlock victim (40P01)' },
    ]);
  });
});
