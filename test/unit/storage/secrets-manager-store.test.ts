import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CachedSecretStore,
  SecretNotFoundError,
  SecretsManagerStore,
} from '../../../functions/adapters/secrets/index.js';

/**
 * Secrets Manager behind the one secret cache (CachedSecretStore), as the handlers and
 * openPgWarehouseFromSecret stack them. Before issue 18 the store kept a second 60-second cache of its
 * own, so invalidating the outer one after a rotation still returned the old password for up to a minute.
 */
describe('SecretsManagerStore behind CachedSecretStore', () => {
  const sm = mockClient(SecretsManagerClient);
  afterEach(() => sm.reset());

  const store = () =>
    new SecretsManagerStore({
      client: new SecretsManagerClient({ region: 'eu-west-1' }),
      prefix: 'sluice/dev/',
    });

  it('reads the secret under the prefix', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'sluice/dev/crm' }).resolves({ SecretString: '{"token":"t1"}' });

    expect(await store().get('crm')).toBe('{"token":"t1"}');
  });

  it('asks Secrets Manager on every get of the bare store: the cache is CachedSecretStore alone', async () => {
    sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'v1' }).resolves({ SecretString: 'v2' });
    const secrets = store();

    expect(await secrets.get('db')).toBe('v1');
    expect(await secrets.get('db')).toBe('v2');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('reuses a value for the TTL (60 s) with one API call for concurrent readers, then reads again', async () => {
    let clock = 0;
    const secrets = new CachedSecretStore(store(), { now: () => clock });
    sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'v1' }).resolves({ SecretString: 'v2' });

    expect(await Promise.all([secrets.get('db'), secrets.get('db')])).toEqual(['v1', 'v1']);
    clock = 59_999;
    expect(await secrets.get('db')).toBe('v1');
    clock = 60_000;
    expect(await secrets.get('db')).toBe('v2');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('reads the rotated value right after invalidate, with one more API call', async () => {
    const secrets = new CachedSecretStore(store());
    sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'old' }).resolves({ SecretString: 'rotated' });
    expect(await secrets.get('db')).toBe('old');

    secrets.invalidate('db');

    expect(await secrets.get('db')).toBe('rotated');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('fails with SecretNotFoundError naming the secret id, and does not cache the failure', async () => {
    const secrets = new CachedSecretStore(store());
    sm.on(GetSecretValueCommand)
      .rejectsOnce(new ResourceNotFoundException({ message: 'not found', $metadata: {} }))
      .resolves({ SecretString: 'created' });

    const reading = secrets.get('crm');

    await expect(reading).rejects.toBeInstanceOf(SecretNotFoundError);
    await expect(reading).rejects.toThrow(
      'secret "crm" not found in Secrets Manager (secret id sluice/dev/crm)',
    );
    expect(await secrets.get('crm')).toBe('created');
  });

  it('decodes a binary secret as UTF-8', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretBinary: new TextEncoder().encode('bin-value') });

    expect(await store().get('b')).toBe('bin-value');
  });
});
