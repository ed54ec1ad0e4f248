import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretNotFoundError, type SecretStore } from '../../engine/ports/secrets.js';

export interface SecretsManagerStoreProps {
  readonly client: SecretsManagerClient;
  /** Prepended to every name, e.g. `sluice/dev/`. @default '' */
  readonly prefix?: string;
  /** How long a value is reused before it is read again. @default 60_000 (60 s) */
  readonly ttlMs?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

/**
 * Secrets from AWS Secrets Manager (`${prefix}${name}`), cached for a short TTL so a warm Lambda does
 * not call the API per chunk. After rotation a cached credential fails to authenticate: the caller
 * calls `invalidate(name)` and reads once more.
 *
 * @example
 * const secrets = new SecretsManagerStore({ client, prefix: env.SLUICE_SECRET_PREFIX });
 * try { await connect(await secrets.get('crm')); }
 * catch (e) { if (!isAuthError(e)) throw e; secrets.invalidate('crm'); await connect(await secrets.get('crm')); }
 */
export class SecretsManagerStore implements SecretStore {
  private readonly client: SecretsManagerClient;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** Promises, so concurrent readers of one name share one API call. */
  private readonly cache = new Map<string, { expiresAt: number; value: Promise<string> }>();

  constructor(props: SecretsManagerStoreProps) {
    this.client = props.client;
    this.prefix = props.prefix ?? '';
    this.ttlMs = props.ttlMs ?? 60_000;
    this.now = props.now ?? Date.now;
  }

  get(name: string): Promise<string> {
    const hit = this.cache.get(name);
    if (hit && hit.expiresAt > this.now()) return hit.value;
    const value = this.fetch(name);
    this.cache.set(name, { expiresAt: this.now() + this.ttlMs, value });
    // A failed read is not cached: the next get asks again.
    value.catch(() => {
      if (this.cache.get(name)?.value === value) this.cache.delete(name);
    });
    return value;
  }

  /** Forgets a cached value (or all of them), so the next get reads the current version. */
  invalidate(name?: string): void {
    if (name === undefined) this.cache.clear();
    else this.cache.delete(name);
  }

  private async fetch(name: string): Promise<string> {
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
