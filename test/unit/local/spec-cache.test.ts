import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSpecFile } from '../../../functions/engine/spec/load.js';
import { loadSpecFileCached, rememberSpec } from '../../../functions/local/spec-cache.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-spec-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadSpecFileCached', () => {
  it('gives what loadSpecFile gives, and parses again once the file changed', async () => {
    const file = join(dir, 'orders.yaml');
    copyFileSync('pipelines/orders.yaml', file);
    const first = await loadSpecFileCached(file);
    expect(first.spec).toEqual((await loadSpecFile(file)).spec);
    expect(first.contentHash).toBe((await loadSpecFile(file)).contentHash);

    writeFileSync(file, readFileSync(file, 'utf8').replace('name: orders', 'name: orders-renamed'));
    const edited = await loadSpecFileCached(file);
    expect(edited.spec.name).toBe('orders-renamed');
    expect(edited.contentHash).not.toBe(first.contentHash);
  });

  it('reuses a remembered parse only for the very text it came from', async () => {
    const file = join(dir, 'remembered.yaml');
    copyFileSync('pipelines/orders.yaml', file);
    const text = readFileSync(file, 'utf8');
    const loaded = await loadSpecFile(file);
    rememberSpec(file, text, { ...loaded, contentHash: 'remembered' });
    expect((await loadSpecFileCached(file)).contentHash).toBe('remembered');
    writeFileSync(file, `${text}\n# edited\n`);
    expect((await loadSpecFileCached(file)).contentHash).toBe(loaded.contentHash);
  });

  it('hands each caller its own copy of the spec', async () => {
    const file = join(dir, 'copies.yaml');
    copyFileSync('pipelines/orders.yaml', file);
    const a = await loadSpecFileCached(file);
    a.spec.destination.table = 'changed_by_a';
    const b = await loadSpecFileCached(file);
    expect(b.spec.destination.table).not.toBe('changed_by_a');
  });

  it('fails as loadSpecFile does when the file is missing', async () => {
    await expect(loadSpecFileCached(join(dir, 'missing.yaml'))).rejects.toThrow(/spec file not found/);
  });
});
