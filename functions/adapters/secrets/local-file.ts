import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SecretNotFoundError, type SecretStore } from '../../engine/ports/secrets.js';

/** Envelope version 1: AES-256-GCM, 12-byte IV, 16-byte tag, all base64. */
interface EnvelopeV1 {
  v: 1;
  iv: string;
  tag: string;
  data: string;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Binds the ciphertext to this format, so a blob from another tool with the same key does not decrypt. */
const AAD = Buffer.from('sluice-secrets:v1', 'utf8');

export interface LocalSecretStoreProps {
  /** Path of the encrypted secrets file; it need not exist until the first `set`. */
  readonly file: string;
  /**
   * 32-byte key: raw bytes, or text as 64 hex characters or base64.
   * @default - read on first use by readSecretsKey({ keyFile, env }): keyFile, env SLUICE_SECRETS_KEY, env SLUICE_SECRETS_KEY_FILE
   */
  readonly key?: Buffer | string;
  /** A file holding the key (raw 32 bytes, or hex/base64 text), used when `key` is not given. */
  readonly keyFile?: string;
  /** Where SLUICE_SECRETS_KEY(_FILE) are looked up when neither key nor keyFile is given. @default - process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** The file exists but does not decrypt: wrong key, or someone changed it. */
export class SecretsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretsFileError';
  }
}

/**
 * The local twin of Secrets Manager: one JSON object of secrets, encrypted with AES-256-GCM in a file.
 * The key lives outside the file (SLUICE_SECRETS_KEY or a key file), so the file can sit next to the
 * project without giving anything away. Every write uses a fresh random IV.
 *
 * @example
 * const store = new LocalSecretStore({ file: '.sluice/secrets.enc', key: await readSecretsKey() });
 * await store.set('warehouse', JSON.stringify({ user: 'etl', password: 'x' }));
 * const value = await store.get('warehouse');
 */
export class LocalSecretStore implements SecretStore {
  private readonly file: string;
  private readonly props: LocalSecretStoreProps;
  private key: Promise<Buffer> | undefined;
  /** Serializes read-modify-write in this process, so two `set`s never lose each other's secret. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(props: LocalSecretStoreProps) {
    this.file = path.resolve(props.file);
    this.props = props;
    if (props.key !== undefined) {
      const key = typeof props.key === 'string' ? parseSecretsKey(props.key) : props.key;
      if (key.length !== KEY_BYTES)
        throw new SecretsFileError(`the secrets key must be ${KEY_BYTES} bytes, got ${key.length}`);
      this.key = Promise.resolve(key);
    }
  }

  /** The key, resolved once (from keyFile or the environment when not given). */
  private resolveKey(): Promise<Buffer> {
    this.key ??= readSecretsKey({ keyFile: this.props.keyFile, env: this.props.env });
    return this.key;
  }

  async get(name: string): Promise<string> {
    const value = (await this.readAll()).get(name);
    if (value === undefined) throw new SecretNotFoundError(name, this.file);
    return value;
  }

  /** Creates or replaces a secret (for the CLI and tests). */
  set(name: string, value: string): Promise<void> {
    if (name.length === 0) throw new Error('a secret needs a name');
    return this.update((all) => {
      all.set(name, value);
    });
  }

  /** Removes a secret; true when it existed. */
  async delete(name: string): Promise<boolean> {
    let existed = false;
    await this.update((all) => {
      existed = all.delete(name);
    });
    return existed;
  }

  /** Names of the stored secrets, sorted; never values. */
  async list(): Promise<string[]> {
    return [...(await this.readAll()).keys()].sort();
  }

  private update(change: (all: Map<string, string>) => void): Promise<void> {
    const next = this.writes.then(async () => {
      const all = await this.readAll();
      change(all);
      await this.writeAll(all);
    });
    this.writes = next.catch(() => undefined);
    return next;
  }

  private async readAll(): Promise<Map<string, string>> {
    const text = await readFile(this.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (text === undefined) return new Map();
    const envelope = parseEnvelope(text, this.file);
    const key = await this.resolveKey();
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64'));
      decipher.setAAD(AAD);
      decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
      plain = Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]);
    } catch {
      throw new SecretsFileError(`cannot decrypt ${this.file}: wrong key or file was modified`);
    }
    let parsed: { secrets?: Record<string, unknown> };
    try {
      parsed = JSON.parse(plain.toString('utf8')) as { secrets?: Record<string, unknown> };
    } catch {
      // JSON.parse's message would quote decrypted secret text.
      throw new SecretsFileError(`${this.file} decrypts to something that is not a Sluice secrets list`);
    }
    const all = new Map<string, string>();
    for (const [name, value] of Object.entries(parsed.secrets ?? {})) {
      if (typeof value === 'string') all.set(name, value);
    }
    return all;
  }

  private async writeAll(all: Map<string, string>): Promise<void> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', await this.resolveKey(), iv);
    cipher.setAAD(AAD);
    const plain = Buffer.from(JSON.stringify({ secrets: Object.fromEntries(all) }), 'utf8');
    const data = Buffer.concat([cipher.update(plain), cipher.final()]);
    const envelope: EnvelopeV1 = {
      v: 1,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
    await mkdir(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, `${JSON.stringify(envelope)}\n`, { mode: 0o600 });
      await rename(temp, this.file);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }
}

function parseEnvelope(text: string, file: string): EnvelopeV1 {
  let envelope: Partial<EnvelopeV1>;
  try {
    envelope = JSON.parse(text) as Partial<EnvelopeV1>;
  } catch {
    throw new SecretsFileError(`${file} is not a Sluice secrets file (not JSON)`);
  }
  if (envelope?.v !== 1) {
    throw new SecretsFileError(
      `${file} has envelope version ${String(envelope?.v)}; this Sluice reads version 1`,
    );
  }
  const { iv, tag, data } = envelope;
  if (
    typeof iv !== 'string' ||
    typeof tag !== 'string' ||
    typeof data !== 'string' ||
    Buffer.from(iv, 'base64').length !== IV_BYTES ||
    Buffer.from(tag, 'base64').length !== TAG_BYTES
  ) {
    throw new SecretsFileError(`cannot decrypt ${file}: wrong key or file was modified (damaged envelope)`);
  }
  return { v: 1, iv, tag, data };
}

/** Parses a 32-byte key written as 64 hex characters or as base64 (standard or URL-safe). */
export function parseSecretsKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)
      ? Buffer.from(trimmed, 'base64')
      : undefined;
  if (key?.length !== KEY_BYTES) {
    // Never echo the text: it is (a wrong copy of) a key.
    throw new SecretsFileError(
      `the secrets key must be ${KEY_BYTES} bytes written as 64 hex characters or base64`,
    );
  }
  return key;
}

/** A new random key, as hex: `sluice secrets set` writes one to <home>/secrets.key when there is none. */
export function generateSecretsKey(): string {
  return randomBytes(KEY_BYTES).toString('hex');
}

export interface ReadSecretsKeyOptions {
  /** A key file (raw 32 bytes, or hex/base64 text). @default - env SLUICE_SECRETS_KEY_FILE */
  keyFile?: string;
  /** @default - process.env */
  env?: NodeJS.ProcessEnv;
}

/**
 * The local secrets key from, in order: `keyFile`, env SLUICE_SECRETS_KEY (hex or base64), env
 * SLUICE_SECRETS_KEY_FILE.
 */
export async function readSecretsKey(opts: ReadSecretsKeyOptions = {}): Promise<Buffer> {
  const env = opts.env ?? process.env;
  const keyFile = opts.keyFile ?? (env.SLUICE_SECRETS_KEY ? undefined : env.SLUICE_SECRETS_KEY_FILE);
  if (keyFile !== undefined) {
    const bytes = await readFile(keyFile);
    return bytes.length === KEY_BYTES ? bytes : parseSecretsKey(bytes.toString('utf8'));
  }
  if (env.SLUICE_SECRETS_KEY) return parseSecretsKey(env.SLUICE_SECRETS_KEY);
  throw new SecretsFileError(
    'no key for the local secrets file: set SLUICE_SECRETS_KEY (32 bytes as hex or base64) or SLUICE_SECRETS_KEY_FILE',
  );
}

// Env vars are the other local secrets source; importable from here too.
export { EnvSecretStore, type EnvSecretStoreProps, FallbackSecretStore, toUpperSnake } from './env.js';
