import type { SecretStore } from '../ports/secrets.js';
import type { Warehouse } from '../ports/warehouse.js';
import { appendAudit } from './log.js';

/**
 * A SecretStore that records `credentials.read` (the secret's NAME, never its value) in the audit
 * trail on each successful read. A failure to audit fails the read: a read nobody can see is not allowed.
 */
export function auditedSecretStore(
  store: SecretStore,
  warehouse: () => Warehouse | undefined,
  context: { pipeline?: string } = {},
): SecretStore {
  return {
    async get(name: string): Promise<string> {
      const value = await store.get(name);
      const wh = warehouse();
      if (wh) await appendAudit(wh, { kind: 'credentials.read', ...context, detail: { secret: name } });
      return value;
    },
  };
}
