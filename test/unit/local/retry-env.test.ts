import { describe, expect, it } from 'vitest';
import { retryPolicyFromEnv } from '../../../functions/local/environment.js';

describe('SLUICE_RETRY_MAX_SECONDS', () => {
  it('bounds the time a step retries, 0 turning retries off, unset leaving the default', () => {
    expect(retryPolicyFromEnv({ SLUICE_RETRY_MAX_SECONDS: '2.5' })).toEqual({ maxTotalMs: 2500 });
    expect(retryPolicyFromEnv({ SLUICE_RETRY_MAX_SECONDS: '0' })).toEqual({ maxAttempts: 1 });
    expect(retryPolicyFromEnv({})).toBeUndefined();
  });

  it('fails when it is not a number of seconds, naming the variable and the value', () => {
    expect(() => retryPolicyFromEnv({ SLUICE_RETRY_MAX_SECONDS: '10s' })).toThrow(
      'SLUICE_RETRY_MAX_SECONDS must be a number of seconds (0 or more), got "10s"',
    );
  });
});
