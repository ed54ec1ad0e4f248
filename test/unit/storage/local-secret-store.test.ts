import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EnvSecretStore,
  FallbackSecretStore,
  generateSecretsKey,
  LocalSecretStore,
  readSecretsKey,
  SecretNotFoundError,
} from '../../../functions/adapters/secrets/index.js';

describe('LocalSecretStore', () => {
  let dir: string;
  let file: string;
  const key = generateSecretsKey();

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-secrets-'));
    file = path.join(dir, 'secrets.enc');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('round-trips secrets through the encrypted file, which holds no plain text', async () => {
    const store = new LocalSecretStore({ file, key });
    await store.set('warehouse', '{"user":"etl","password":"hunter2"}');
    await store.set('crm-token', 'tok-123');

    const reopened = new LocalSecretStore({ file, key: Buffer.from(key, 'hex').toString('base64') });

    expect(await reopened.get('warehouse')).toBe('{"user":"etl","password":"hunter2"}');
    expect(await reopened.list()).toEqual(['crm-token', 'warehouse']);
    const stored = await readFile(file, 'utf8');
    expect(stored).not.toContain('hunter2');
    expect(stored).not.toContain('warehouse');
    expect(JSON.parse(stored)).toEqual({
      v: 1,
      iv: expect.any(String),
      tag: expect.any(String),
      data: expect.any(String),
    });
  });

  it('uses a fresh IV for every write', async () => {
    const store = new LocalSecretStore({ file, key });
    await store.set('a', '1');
    const first = JSON.parse(await readFile(file, 'utf8')).iv;
    await store.set('a', '1');

    expect(JSON.parse(await readFile(file, 'utf8')).iv).not.toBe(first);
  });

  it('keeps both secrets when two sets run at once', async () => {
    const store = new LocalSecretStore({ file, key });

    await Promise.all([store.set('a', '1'), store.set('b', '2'), store.set('c', '3')]);

    expect(await store.list()).toEqual(['a', 'b', 'c']);
  });

  it('fails with SecretNotFoundError naming the secret, and lists nothing before the file exists', async () => {
    const store = new LocalSecretStore({ file, key });

    expect(await store.list()).toEqual([]);
    await expect(store.get('missing')).rejects.toBeInstanceOf(SecretNotFoundError);
    await expect(store.get('missing')).rejects.toThrow(`secret "missing" not found in ${file}`);
  });

  it('fails with a clear message for the wrong key, never showing a value', async () => {
    await new LocalSecretStore({ file, key }).set('db', 'hunter2');

    const wrong = new LocalSecretStore({ file, key: generateSecretsKey() });

    await expect(wrong.get('db')).rejects.toThrow(`cannot decrypt ${file}: wrong key or file was modified`);
    await expect(wrong.list()).rejects.not.toThrow(/hunter2/);
  });

  it('fails when the file was modified', async () => {
    await new LocalSecretStore({ file, key }).set('db', 'hunter2');
    const envelope = JSON.parse(await readFile(file, 'utf8'));
    const data = Buffer.from(envelope.data, 'base64');
    data[0] = data[0]! ^ 1;
    await writeFile(file, JSON.stringify({ ...envelope, data: data.toString('base64') }));

    await expect(new LocalSecretStore({ file, key }).get('db')).rejects.toThrow(
      /wrong key or file was modified/,
    );
  });

  it('fails for a key that is not 32 bytes, without echoing it', () => {
    expect(() => new LocalSecretStore({ file, key: 'abc123' })).toThrow(
      'the secrets key must be 32 bytes written as 64 hex characters or base64',
    );
    expect(() => new LocalSecretStore({ file, key: randomBytes(16) })).toThrow('must be 32 bytes, got 16');
  });

  it('resolves its key on first use from keyFile or SLUICE_SECRETS_KEY when none is given', async () => {
    const keyFile = path.join(dir, 'key');
    await writeFile(keyFile, key);
    await new LocalSecretStore({ file, keyFile }).set('a', '1');

    expect(await new LocalSecretStore({ file, env: { SLUICE_SECRETS_KEY: key } }).get('a')).toBe('1');
    await expect(new LocalSecretStore({ file, env: {} }).get('a')).rejects.toThrow(/set SLUICE_SECRETS_KEY/);
  });

  it('reads the key from SLUICE_SECRETS_KEY or a key file', async () => {
    const keyFile = path.join(dir, 'key');
    await writeFile(keyFile, `${key}\n`);

    expect((await readSecretsKey({ env: { SLUICE_SECRETS_KEY: key } })).toString('hex')).toBe(key);
    expect((await readSecretsKey({ env: { SLUICE_SECRETS_KEY_FILE: keyFile } })).toString('hex')).toBe(key);
    expect((await readSecretsKey({ keyFile, env: {} })).toString('hex')).toBe(key);
    await expect(readSecretsKey({ env: {} })).rejects.toThrow(/set SLUICE_SECRETS_KEY/);
  });
});

describe('EnvSecretStore', () => {
  it('reads SLUICE_SECRET_<NAME in upper snake case>', async () => {
    const store = new EnvSecretStore({
      env: { SLUICE_SECRET_WAREHOUSE_PASSWORD: 'pw', SLUICE_SECRET_API_KEY: 'k' },
    });

    expect(await store.get('warehouse-password')).toBe('pw');
    expect(await store.get('apiKey')).toBe('k');
    await expect(store.get('db/main.password')).rejects.toThrow(
      'secret "db/main.password" not found in environment variable SLUICE_SECRET_DB_MAIN_PASSWORD',
    );
  });
});

describe('FallbackSecretStore', () => {
  it('returns the first store that has the secret, and names every place it looked', async () => {
    const first = new EnvSecretStore({ env: { SLUICE_SECRET_A: 'from-first' } });
    const second = new EnvSecretStore({
      env: { APP_SECRET_A: 'x', APP_SECRET_B: 'from-second' },
      prefix: 'APP_SECRET_',
    });
    const store = new FallbackSecretStore([first, second]);

    expect(await store.get('a')).toBe('from-first');
    expect(await store.get('b')).toBe('from-second');
    await expect(store.get('c')).rejects.toThrow(
      'secret "c" not found in environment variable SLUICE_SECRET_C, nor in environment variable APP_SECRET_C',
    );
  });
});
