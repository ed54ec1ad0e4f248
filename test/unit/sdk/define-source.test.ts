import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { credentialResolver } from '../../../functions/engine/run/credentials.js';
import { parseSpec } from '../../../functions/engine/spec/load.js';
import { defineSource } from '../../../functions/sdk/source.js';

const broken = defineSource({
  name: 'broken',
  description: 'fails everywhere',
  configSchema: z.strictObject({}),
  async plan() {
    throw new Error('connect ECONNREFUSED 127.0.0.1:1');
  },
  // biome-ignore lint/correctness/useYield: fails before its first row on purpose
  async *read() {
    throw new Error('the server closed the connection');
  },
});

const ctx = {
  config: {},
  openStorage: () => {
    throw new Error('no storage');
  },
  credential: credentialResolver(
    parseSpec(
      `name: p
source: { connector: postgres, credentials: { password: prod-db-password } }
destination: { table: t, columns: { d: { type: date, nullable: false } }, partitioning: { column: d } }`,
      'p.yaml',
    ).spec,
    { get: async (name: string) => `value of ${name}` },
  ),
};

describe('defineSource', () => {
  it('names the source in a failing plan', async () => {
    const failing = broken.plan({ ...ctx, targetBytes: 1, parallelism: 1, alreadyLoaded: () => false });

    await expect(failing).rejects.toThrow('source broken: connect ECONNREFUSED 127.0.0.1:1');
    await expect(failing).rejects.toHaveProperty('name', 'SourceError');
  });

  it('names the source in a failing read', async () => {
    const chunk = { id: 'chunk-00000', seq: 0, bytes: 0, route: 'lambda' as const, source: {} };
    const reading = (async () => {
      for await (const _ of broken.read(chunk, ctx)) {
        // nothing
      }
    })();

    await expect(reading).rejects.toThrow('source broken: the server closed the connection');
  });
});

describe('credentialResolver', () => {
  it('resolves a logical name through source.credentials and the secret store', async () => {
    expect(await ctx.credential('password')).toBe('value of prod-db-password');
  });

  it('fails naming the credential when the spec does not map it', async () => {
    await expect(ctx.credential('token')).rejects.toThrow(
      'pipeline "p": the source needs credential "token" but source.credentials does not map it (mapped: password)',
    );
  });

  it('gives undefined for an optional credential the spec does not map', async () => {
    expect(await ctx.credential('token', { optional: true })).toBeUndefined();
  });
});
