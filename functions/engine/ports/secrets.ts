// The SecretStore port: where pipeline credentials come from.
/** Where pipeline credentials come from: Secrets Manager in AWS, an encrypted file or env vars locally. */
export interface SecretStore {
  /** The secret's value as a string (JSON text for structured secrets); SecretNotFoundError if absent. */
  get(name: string): Promise<string>;
}

/** No secret by that name. The message names the secret (and where it looked), never a value. */
export class SecretNotFoundError extends Error {
  constructor(
    readonly secretName: string,
    /** Where the store looked, e.g. a file path, an env variable or a Secrets Manager id. */
    readonly where: string,
  ) {
    super(`secret "${secretName}" not found in ${where}`);
    this.name = 'SecretNotFoundError';
  }
}
