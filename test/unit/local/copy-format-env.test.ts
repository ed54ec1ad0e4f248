import { describe, expect, it } from 'vitest';
import { copyFormatFromEnv } from '../../../functions/local/environment.js';

describe('SLUICE_COPY_FORMAT', () => {
  it('picks csv or binary for the staging COPY, unset leaving the default', () => {
    expect(copyFormatFromEnv({ SLUICE_COPY_FORMAT: 'csv' })).toBe('csv');
    expect(copyFormatFromEnv({ SLUICE_COPY_FORMAT: 'binary' })).toBe('binary');
    expect(copyFormatFromEnv({})).toBeUndefined();
  });

  it('fails when it is neither, naming the variable and the value', () => {
    expect(() => copyFormatFromEnv({ SLUICE_COPY_FORMAT: 'text' })).toThrow(
      'SLUICE_COPY_FORMAT must be csv or binary, not "text"',
    );
  });
});
