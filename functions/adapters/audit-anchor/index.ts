/** Where the audit chain's head is anchored: a signed local file, or S3 under Object Lock. */
export { LocalAuditAnchor, type LocalAuditAnchorProps } from './local-file.js';
export { S3ObjectLockAuditAnchor, type S3ObjectLockAuditAnchorProps } from './s3-object-lock.js';
