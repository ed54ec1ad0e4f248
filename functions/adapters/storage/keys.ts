/** Key rules shared by both storage twins, so a key that works locally also works on S3 and back. */

/**
 * Checks that a key (or a listing prefix) stays inside the storage root: '/'-separated, relative,
 * no `.`/`..` segments, no backslashes or NUL. Returns the key unchanged.
 */
export function checkKey(key: string, what: 'key' | 'prefix' = 'key'): string {
  if (what === 'key' && key.length === 0) throw new InvalidKeyError(key, 'is empty');
  if (key.startsWith('/') || /^[A-Za-z]:/.test(key)) throw new InvalidKeyError(key, 'is absolute');
  if (key.includes('\\')) throw new InvalidKeyError(key, "contains '\\'; keys are '/'-separated");
  if (key.includes('\0')) throw new InvalidKeyError(key, 'contains a NUL byte');
  const segments = key.split('/');
  // A prefix may end with '/', so its last segment may be empty; a key may not.
  const last = what === 'prefix' ? segments.length - 1 : segments.length;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    if (s === '..' || s === '.')
      throw new InvalidKeyError(key, `has a '${s}' segment and would escape the root`);
    if (s === '' && i < last) throw new InvalidKeyError(key, 'has an empty segment (//)');
  }
  return key;
}

/** S3 lists keys in UTF-8 byte order; the folder twin sorts the same way so both list alike. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export class InvalidKeyError extends Error {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`storage key ${JSON.stringify(key)} ${problem}`);
    this.name = 'InvalidKeyError';
  }
}

/** Collects a stream into one Buffer: for small objects (manifests, specs, summaries). */
export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** The `url` of the S3 storage rooted at bucket/prefix: `s3://bucket/prefix/` (prefix ends in `/`, or is empty). */
export function s3StorageUrl(bucket: string, prefix: string): string {
  return `s3://${bucket}/${s3Prefix(prefix)}`;
}

/** A storage prefix as S3 keys start with it: '' or ending in `/`. */
export function s3Prefix(prefix: string): string {
  return prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
}
