import { SecretNotFoundError, type SecretStore } from '../../engine/ports/secrets.js';

export interface EnvSecretStoreProps {
  /** @default - process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default 'SLUICE_SECRET_' */
  readonly prefix?: string;
}

/**
 * Secrets from environment variables, the simplest local setup: secret `warehouse-password` (or
 * `warehousePassword`) is read from `SLUICE_SECRET_WAREHOUSE_PASSWORD`.
 */
export class EnvSecretStore implements SecretStore {
  private readonly env: NodeJS.ProcessEnv;
  private readonly prefix: string;

  constructor(props: EnvSecretStoreProps = {}) {
    this.env = props.env ?? process.env;
    this.prefix = props.prefix ?? 'SLUICE_SECRET_';
  }

  async get(name: string): Promise<string> {
    const variable = this.variableOf(name);
    const value = this.env[variable];
    if (value === undefined) throw new SecretNotFoundError(name, `environment variable ${variable}`);
    return value;
  }

  /** The variable a secret is read from. */
  variableOf(name: string): string {
    return this.prefix + toUpperSnake(name);
  }
}

/** `warehouse-password`, `warehousePassword`, `db/main.password` → `WAREHOUSE_PASSWORD`, …, `DB_MAIN_PASSWORD`. */
export function toUpperSnake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
}

/**
 * Asks each store in turn and returns the first value found, e.g. the encrypted file, then env vars.
 * Only SecretNotFoundError moves on to the next store; any other failure (wrong key) is thrown.
 */
export class FallbackSecretStore implements SecretStore {
  constructor(private readonly stores: readonly SecretStore[]) {}

  async get(name: string): Promise<string> {
    const misses: string[] = [];
    for (const store of this.stores) {
      try {
        return await store.get(name);
      } catch (error) {
        if (!(error instanceof SecretNotFoundError)) throw error;
        misses.push(error.where);
      }
    }
    throw new SecretNotFoundError(name, misses.join(', nor in ') || 'any secret store');
  }
}
