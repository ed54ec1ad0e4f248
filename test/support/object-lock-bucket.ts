import {
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandInput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

interface StoredVersion {
  key: string;
  versionId: string;
  lastModified: Date;
  deleteMarker: boolean;
}

/**
 * A mocked S3 bucket that behaves as Object Lock makes a real one behave for the audit anchor: every
 * put is a new version that stays; a "delete" only adds a delete marker; ListObjectVersions lists both,
 * in key order, `pageSize` entries a page (the real maximum is 1,000).
 */
export function objectLockBucket(pageSize = 2) {
  const s3 = mockClient(S3Client);
  const versions: StoredVersion[] = [];
  let clock = Date.parse('2026-12-04T10:00:00Z');
  const tick = () => {
    clock += 1000;
    return new Date(clock);
  };
  s3.on(PutObjectCommand).callsFake((input: { Key: string }) => {
    versions.push({
      key: input.Key,
      versionId: `v${versions.length + 1}`,
      lastModified: tick(),
      deleteMarker: false,
    });
    return {};
  });
  s3.on(ListObjectVersionsCommand).callsFake((input: ListObjectVersionsCommandInput) => {
    const all = versions
      .filter((v) => v.key.startsWith(input.Prefix ?? ''))
      .sort((a, b) => a.key.localeCompare(b.key) || a.versionId.localeCompare(b.versionId));
    const start = input.KeyMarker
      ? all.findIndex((v) => v.key === input.KeyMarker && v.versionId === input.VersionIdMarker) + 1
      : 0;
    const page = all.slice(start, start + pageSize);
    const last = page.at(-1);
    const truncated = start + pageSize < all.length;
    const entry = (v: StoredVersion) => ({
      Key: v.key,
      VersionId: v.versionId,
      LastModified: v.lastModified,
    });
    return {
      Versions: page.filter((v) => !v.deleteMarker).map(entry),
      DeleteMarkers: page.filter((v) => v.deleteMarker).map(entry),
      IsTruncated: truncated,
      ...(truncated && last ? { NextKeyMarker: last.key, NextVersionIdMarker: last.versionId } : {}),
    };
  });
  return {
    s3,
    versions,
    /** What DeleteObject without a version id does under versioning: a marker, the data stays. */
    deleteLatest(key: string) {
      versions.push({
        key,
        versionId: `v${versions.length + 1}`,
        lastModified: tick(),
        deleteMarker: true,
      });
    },
  };
}
