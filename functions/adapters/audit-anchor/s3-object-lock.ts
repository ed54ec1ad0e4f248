import {
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type AnchoredHead, type AuditAnchor, AuditAnchorError } from '../../engine/ports/audit-anchor.js';

export interface S3ObjectLockAuditAnchorProps {
  readonly client: S3Client;
  /** A bucket created with Object Lock enabled (so versioned). */
  readonly bucket: string;
  /** @default 'audit-anchor/' */
  readonly prefix?: string;
  /** @default 'COMPLIANCE' (nobody, the root user included, can shorten it or delete a version) */
  readonly mode?: 'COMPLIANCE' | 'GOVERNANCE';
  /** How long each anchored head is locked. @default 2557 (7 years) */
  readonly retentionDays?: number;
  /** Clock, for tests. @default () => new Date() */
  readonly now?: () => Date;
}

/** `<prefix><database>/<seq, 20 digits>-<hash>.json`: the head is in the key, so a listing holds them all. */
const HEAD_KEY = /\/(\d{20})-([0-9a-f]{64})\.json$/;

/**
 * The AWS anchor: every anchored head is a new object in a bucket under S3 Object Lock, its seq and
 * hash in the key, each version locked for `retentionDays` (COMPLIANCE by default). Nobody can
 * overwrite, delete or shorten the lock of an anchored head, so `read` (a version listing, which also
 * shows keys hidden behind delete markers) returns every head ever anchored and `verify` checks each
 * one against the chain: a rewritten chain cannot pass by anchoring its new head, because the old heads
 * stay. Someone with s3:PutObject can add a false head, which makes verify fail (an alarm, never a
 * hidden change).
 *
 * Reading costs one ListObjectVersions call per 1,000 anchored heads.
 */
export class S3ObjectLockAuditAnchor implements AuditAnchor {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly mode: 'COMPLIANCE' | 'GOVERNANCE';
  private readonly retentionDays: number;
  private readonly now: () => Date;

  constructor(props: S3ObjectLockAuditAnchorProps) {
    this.client = props.client;
    this.bucket = props.bucket;
    this.prefix = props.prefix ?? 'audit-anchor/';
    this.mode = props.mode ?? 'COMPLIANCE';
    this.retentionDays = props.retentionDays ?? 2557;
    this.now = props.now ?? (() => new Date());
  }

  describe(databaseId: string): string {
    return `s3://${this.bucket}/${this.folderOf(databaseId)} (Object Lock ${this.mode})`;
  }

  async read(databaseId: string): Promise<AnchoredHead[]> {
    const folder = this.folderOf(databaseId);
    const heads = new Map<string, AnchoredHead>();
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    do {
      const page: ListObjectVersionsCommandOutput = await this.client.send(
        new ListObjectVersionsCommand({
          Bucket: this.bucket,
          Prefix: folder,
          ...(keyMarker ? { KeyMarker: keyMarker } : {}),
          ...(versionIdMarker ? { VersionIdMarker: versionIdMarker } : {}),
        }),
      );
      for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
        const key = v.Key ?? '';
        const match = HEAD_KEY.exec(key);
        if (!match || !key.startsWith(folder)) {
          throw new AuditAnchorError(
            `s3://${this.bucket}/${key} is not an anchored head (expected <seq>-<hash>.json): someone wrote into the anchor folder`,
          );
        }
        const at = v.LastModified ? v.LastModified.toISOString() : '';
        const known = heads.get(key);
        if (!known || (at && at < known.at)) heads.set(key, { seq: Number(match[1]), hash: match[2]!, at });
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker);
    return [...heads.values()].sort((a, b) => a.seq - b.seq);
  }

  async write(databaseId: string, head: AnchoredHead): Promise<void> {
    const retainUntil = new Date(this.now().getTime() + this.retentionDays * 86_400_000);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `${this.folderOf(databaseId)}${String(head.seq).padStart(20, '0')}-${head.hash}.json`,
        Body: JSON.stringify({ v: 1, database: databaseId, ...head }),
        ContentType: 'application/json',
        ObjectLockMode: this.mode,
        ObjectLockRetainUntilDate: retainUntil,
        // Object Lock puts must carry a checksum.
        ChecksumAlgorithm: 'SHA256',
      }),
    );
  }

  private folderOf(databaseId: string): string {
    return `${this.prefix}${databaseId.replace(/[^A-Za-z0-9_.-]/g, '_')}/`;
  }
}
