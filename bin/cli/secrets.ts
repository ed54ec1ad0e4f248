// `sluice secrets set|list|rm`: the local encrypted secret store (<home>/secrets.enc), values never on argv or stdout.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { homeOption, jsonOption } from './options.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$/;

function secretName(value: string): string {
  if (!NAME.test(value))
    throw new InvalidArgumentError('must be a secret name: letters, digits and _ . / - (up to 128)');
  return value;
}

/**
 * The local store, with its key from SLUICE_SECRETS_KEY, SLUICE_SECRETS_KEY_FILE or `<home>/secrets.key`.
 * `create`: make `<home>/secrets.key` (0600) when there is no key and no store yet (the first `set`).
 */
async function openStore(home: string, create: boolean) {
  const [{ LocalSecretStore, generateSecretsKey }, { mkdirSync, writeFileSync }] = await Promise.all([
    import('../../functions/adapters/secrets/local-file.js'),
    import('node:fs'),
  ]);
  const file = join(home, 'secrets.enc');
  const keyFile = join(home, 'secrets.key');
  if (process.env.SLUICE_SECRETS_KEY || process.env.SLUICE_SECRETS_KEY_FILE)
    return new LocalSecretStore({ file });
  if (!existsSync(keyFile)) {
    if (existsSync(file))
      throw new Error(
        `${file} exists but its key does not: set SLUICE_SECRETS_KEY or SLUICE_SECRETS_KEY_FILE, or restore ${keyFile}`,
      );
    if (!create) return undefined;
    mkdirSync(home, { recursive: true });
    writeFileSync(keyFile, `${generateSecretsKey()}\n`, { mode: 0o600, flag: 'wx' });
    process.stderr.write(
      `created the key of the local secret store: ${keyFile} (keep it out of version control)\n`,
    );
  }
  return new LocalSecretStore({ file, keyFile });
}

/**
 * Registers `secrets set`, `secrets list` and `secrets rm`.
 *
 * @example registerSecretsCommands(program);  // in bin/sluice.ts
 */
export function registerSecretsCommands(program: Command): Command {
  const secrets = program
    .command('secrets')
    .description('the local encrypted secret store (<home>/secrets.enc, AES-256-GCM; key outside the file)');
  secrets
    .command('set')
    .description(
      'create or replace a secret; the value is read from stdin (piped) or typed at a hidden prompt',
    )
    .argument('<name>', 'secret name, as a spec or SLUICE_DATABASE_SECRET names it', secretName)
    .addOption(homeOption())
    .action(async (name: string, opts: { home: string }) => {
      const prompt = await import('./prompt.js');
      const value = process.stdin.isTTY
        ? await prompt.readHidden(`value of secret "${name}": `)
        : await prompt.readStdin();
      if (value.length === 0)
        throw new InvalidArgumentError(`no value given for secret "${name}" (stdin was empty)`);
      const store = (await openStore(opts.home, true))!;
      await store.set(name, value);
      process.stdout.write(
        `secret "${name}" stored in ${join(opts.home, 'secrets.enc')} (${value.length} characters)\n`,
      );
    });
  secrets
    .command('list')
    .description('list secret names (never values)')
    .addOption(jsonOption())
    .addOption(homeOption())
    .action(async (opts: { home: string; json?: boolean }) => {
      const store = await openStore(opts.home, false);
      const names = store ? await store.list() : [];
      if (opts.json) process.stdout.write(`${JSON.stringify(names)}\n`);
      else if (names.length === 0) process.stdout.write(`no secrets in ${join(opts.home, 'secrets.enc')}\n`);
      else process.stdout.write(`${names.join('\n')}\n`);
    });
  secrets
    .command('rm')
    .description('remove a secret')
    .argument('<name>', 'secret name', secretName)
    .addOption(homeOption())
    .action(async (name: string, opts: { home: string }) => {
      const store = await openStore(opts.home, false);
      if (!store || !(await store.delete(name)))
        throw new InvalidArgumentError(
          `no secret "${name}" in ${join(opts.home, 'secrets.enc')} (see: sluice secrets list)`,
        );
      process.stdout.write(`secret "${name}" removed\n`);
    });
  return secrets;
}
