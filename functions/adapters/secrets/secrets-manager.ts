import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretNotFoundError, type SecretStore } from '../../engine/ports/secrets.js';

export interface SecretsManagerStoreProps {
  readonly client: SecretsManagerClient;
  /** Prepended to every name, e.g. `sluice/dev/`. @default '' */
  readonly prefix?: string;
}

/**
 * Secrets from AWS Secrets Manager (`${prefix}${name}`), read on every get: the one cache is
 * CachedSecretStore, which wraps this store, so invalidating it after a rotation reaches the API.
 *
 * @example
 * const secrets = new CachedSecretStore(new SecretsManagerStore({ client, prefix: env.SLUICE_SECRET_PREFIX }));
 */
export class SecretsManagerStore implements SecretStore {
  private readonly client: SecretsManagerClient;
  private readonly prefix: string;

  constructor(props: SecretsManagerStoreProps) {
    this.client = props.client;
    this.prefix = props.prefix ?? '';
  }

  async get(name: string): Promise<string> {
    const id = this.prefix + name;
    try {
      const result = await this.client.send(new GetSecretValueCommand({ SecretId: id }));
      if (result.SecretString !== undefined) return result.SecretString;
      if (result.SecretBinary !== undefined) return Buffer.from(result.SecretBinary).toString('utf8');
      throw new Error(`secret "${id}" in Secrets Manager has no value`);
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceNotFoundException') {
        throw new SecretNotFoundError(name, `Secrets Manager (secret id ${id})`);
      }
      throw error;
    }
  }
}
