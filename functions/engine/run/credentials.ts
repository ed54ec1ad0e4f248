import type { SecretStore } from '../ports/secrets.js';
import type { CredentialResolver } from '../ports/source.js';
import type { PipelineSpec } from '../spec/schema.js';

export class MissingCredentialError extends Error {
  constructor(pipeline: string, name: string, known: string[]) {
    super(
      `pipeline "${pipeline}": the source needs credential "${name}" but source.credentials does not map it (mapped: ${known.join(', ') || 'none'})`,
    );
    this.name = 'SpecError';
  }
}

/**
 * Resolves a connector's credentials by logical name: `source.credentials` maps the name to a secret
 * name, the secret store (Secrets Manager, the local encrypted file, env) gives its value. Values are
 * cached per resolver and never logged.
 */
export function credentialResolver(spec: PipelineSpec, secrets: SecretStore | undefined): CredentialResolver {
  const mapped = spec.source.credentials ?? {};
  const cache = new Map<string, Promise<string>>();
  return (async (name: string, options?: { optional: true }) => {
    const secretName = mapped[name];
    if (secretName === undefined) {
      if (options?.optional) return undefined;
      throw new MissingCredentialError(spec.name, name, Object.keys(mapped));
    }
    if (!secrets) throw new Error(`credential "${name}": no secret store is available to this command`);
    let value = cache.get(secretName);
    if (!value) {
      value = secrets.get(secretName);
      cache.set(secretName, value);
    }
    return value;
  }) as CredentialResolver;
}
