import { describe, expect, it } from 'vitest';
import { ConfigError, parseHandlerEnv } from '../../../functions/handlers/env.js';

describe('handler environment', () => {
  it('accepts the AWS configuration the constructs set', () => {
    const env = parseHandlerEnv({
      SLUICE_STAGING_BUCKET: 'sluice-staging-123',
      SLUICE_DATABASE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf',
      SLUICE_DATABASE_HOST: 'proxy.example.internal',
    });

    expect(env).toMatchObject({
      SLUICE_STAGING_BUCKET: 'sluice-staging-123',
      SLUICE_SECRET_PREFIX: 'sluice/',
      POWERTOOLS_SERVICE_NAME: 'sluice',
    });
  });

  it('accepts the local configuration (folder + DATABASE_URL)', () => {
    expect(
      parseHandlerEnv({ SLUICE_STAGING_DIR: '.sluice/staging', DATABASE_URL: 'postgres://u@h/db' }),
    ).toMatchObject({
      SLUICE_STAGING_DIR: '.sluice/staging',
    });
  });

  it('fails at cold start naming each missing or wrong variable and what was found', () => {
    const parse = () =>
      parseHandlerEnv({
        DATABASE_URL: 'mysql://loader:Hunter2x@db/x',
        SLUICE_STATE_MACHINE_ARN: 'not-an-arn',
      });

    expect(parse).toThrow(ConfigError);
    // A URL may carry a password: it is never echoed.
    expect(parse).toThrow(/DATABASE_URL: .*\(found a value, not shown\)/);
    expect(parse).not.toThrow(/Hunter2x/);
    expect(parse).toThrow(/SLUICE_STATE_MACHINE_ARN: .*\(found "not-an-arn"\)/);
    expect(parse).toThrow(
      /SLUICE_STAGING_BUCKET: set SLUICE_STAGING_BUCKET \(AWS\) or SLUICE_STAGING_DIR \(local\)/,
    );
  });
});
