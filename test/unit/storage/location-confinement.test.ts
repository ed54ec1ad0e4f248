import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allowedRootsFromEnv,
  FolderStorage,
  LocationNotAllowedError,
  storageFromLocation,
} from '../../../functions/adapters/storage/index.js';

const openS3 = (): never => {
  throw new Error('no S3 in this test');
};

/** A spec folder with data inside it, and a folder outside it (another tree on the same disk). */
function folders() {
  const top = realpathSync(mkdtempSync(join(tmpdir(), 'sluice-confine-')));
  const specDir = join(top, 'pipelines');
  mkdirSync(join(specDir, 'data'), { recursive: true });
  writeFileSync(join(specDir, 'data', 'in.csv'), 'id\n1\n');
  const outside = join(top, 'elsewhere');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.csv'), 'id\n2\n');
  return { top, specDir, outside };
}

describe('local locations are confined to the spec folder tree', () => {
  it('opens a folder inside the spec folder', () => {
    const { specDir } = folders();

    const storage = storageFromLocation('data', { baseDir: specDir, openS3 });

    expect(storage).toBeInstanceOf(FolderStorage);
    expect(storage.url).toBe(join(specDir, 'data'));
  });

  it('fails when an absolute location is outside, naming the setting that allows it', () => {
    const { specDir } = folders();

    expect(() => storageFromLocation('/etc', { baseDir: specDir, openS3 })).toThrow(
      `location "/etc" resolves to /etc, outside the spec's folder ${specDir}: a local location must be inside the spec's folder tree, or inside a folder listed in SLUICE_ALLOWED_ROOTS (paths separated by ":")`,
    );
  });

  it('fails when a relative location climbs out with ..', () => {
    const { specDir, outside } = folders();

    expect(() => storageFromLocation('../elsewhere', { baseDir: specDir, openS3 })).toThrow(
      `resolves to ${outside}, outside the spec's folder`,
    );
    expect(() => storageFromLocation('../../../../../../..', { baseDir: specDir, openS3 })).toThrow(
      LocationNotAllowedError,
    );
    expect(() => storageFromLocation('file:///etc', { baseDir: specDir, openS3 })).toThrow(
      LocationNotAllowedError,
    );
  });

  it('fails when a symlink inside the spec folder points outside', () => {
    const { specDir, outside } = folders();
    symlinkSync(outside, join(specDir, 'link'));

    expect(() => storageFromLocation('link', { baseDir: specDir, openS3 })).toThrow(
      `location "link" resolves to ${outside}, outside`,
    );
  });

  it('refuses a folder that does not exist yet by where it would be', () => {
    const { specDir } = folders();

    expect(storageFromLocation('data/later', { baseDir: specDir, openS3 }).url).toBe(
      join(specDir, 'data', 'later'),
    );
    expect(() => storageFromLocation('../nowhere/x', { baseDir: specDir, openS3 })).toThrow(
      LocationNotAllowedError,
    );
  });

  it('opens a folder outside when SLUICE_ALLOWED_ROOTS lists it or a folder above it', () => {
    const { specDir, outside } = folders();
    const allowedRoots = allowedRootsFromEnv(`/nonexistent-root:${outside}`);

    const storage = storageFromLocation(outside, { baseDir: specDir, allowedRoots, openS3 });

    expect(allowedRoots).toEqual(['/nonexistent-root', outside]);
    expect(storage.url).toBe(outside);
    expect(() => storageFromLocation('/etc', { baseDir: specDir, allowedRoots, openS3 })).toThrow(
      LocationNotAllowedError,
    );
  });

  it('fails for every local location where the spec has no folder (a published spec in AWS, baseDir /)', () => {
    const { outside } = folders();
    const aws = { baseDir: '/', baseDirIsRoot: false, openS3 };

    expect(() => storageFromLocation('../../etc', aws)).toThrow(
      'location "../../etc" resolves to /etc, outside every folder listed in SLUICE_ALLOWED_ROOTS',
    );
    expect(storageFromLocation(outside, { ...aws, allowedRoots: [outside] }).url).toBe(outside);
  });

  it('leaves s3:// locations alone', () => {
    const s3 = { url: 's3://b/p/' } as FolderStorage;

    expect(storageFromLocation('s3://b/p', { baseDir: '/tmp', openS3: () => s3 })).toBe(s3);
  });
});
