export { SecretNotFoundError, type SecretStore } from '../../engine/ports/secrets.js';
export { CachedSecretStore, type CachedSecretStoreProps } from './cache.js';
export { EnvSecretStore, type EnvSecretStoreProps, FallbackSecretStore, toUpperSnake } from './env.js';
export {
  generateSecretsKey,
  LocalSecretStore,
  type LocalSecretStoreProps,
  parseSecretsKey,
  type ReadSecretsKeyOptions,
  readSecretsKey,
  SecretsFileError,
} from './local-file.js';
export { SecretsManagerStore, type SecretsManagerStoreProps } from './secrets-manager.js';
