import { resolve } from 'node:path';
import { storageFromLocation } from '../../functions/adapters/storage/index.js';
import { openS3Lazily } from '../../functions/adapters/storage/lazy-s3.js';
import { connectorRegistry } from '../../functions/connectors/registry.js';
import type { SecretStore } from '../../functions/engine/ports/secrets.js';
import type { DiscoveredColumn } from '../../functions/engine/ports/source.js';
import { credentialResolver } from '../../functions/engine/run/credentials.js';
import { discoverColumns } from '../../functions/engine/run/prepare.js';
import type { LoadedSpec } from '../../functions/engine/spec/parse.js';
import { createLocalDeps } from '../../functions/local/environment.js';

/** A spec that maps no credentials reads none: any attempt is a bug worth a loud error. */
const NO_SECRETS: SecretStore = {
  get: async (name) => {
    throw new Error(`secret "${name}" requested by a source whose spec maps no credentials`);
  },
};

/**
 * `sluice validate --source`: reads each spec's source columns as a run would (connector `discover`).
 * The local environment (whose database audits every secret read) is opened only for a source that
 * maps credentials, so a files source is checked in seconds.
 */
export function sourceColumnReader(home: string) {
  let env: Awaited<ReturnType<typeof createLocalDeps>> | undefined;
  return {
    forSpec:
      (file: string) =>
      async (loaded: LoadedSpec): Promise<DiscoveredColumn[] | undefined> => {
        const baseDir = resolve(file, '..');
        if (Object.keys(loaded.spec.source.credentials ?? {}).length === 0) {
          return discoverColumns(loaded.spec, {
            connectors: connectorRegistry,
            openStorage: (location) => storageFromLocation(location, { baseDir, openS3: openS3Lazily }),
            credential: credentialResolver(loaded.spec, NO_SECRETS),
          });
        }
        env ??= await createLocalDeps({ home });
        const deps = env.deps;
        return discoverColumns(loaded.spec, {
          connectors: deps.connectors,
          openStorage: (location) => deps.openStorage(location, baseDir),
          credential: credentialResolver(loaded.spec, deps.secrets),
        });
      },
    close: async () => {
      await env?.close();
    },
  };
}
