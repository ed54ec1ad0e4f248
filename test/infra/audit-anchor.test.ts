import { S3Client } from '@aws-sdk/client-s3';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectLockAuditAnchor } from '../../functions/adapters/audit-anchor/s3-object-lock.js';
import { parseHandlerEnv } from '../../functions/handlers/env.js';
import { auditAnchorFromEnv } from '../../functions/handlers/runtime.js';
import { fixturePipelines, type SynthResult, synthSluice } from './support/synth.js';
import { actionsOf, resourceNamed, resources, roleOf, statementsOf } from './support/template.js';

/** Issue 14.5 in AWS: the audit head is anchored in an Object Lock bucket that only commit and fail write. */
let prod: SynthResult;
let dev: SynthResult;
beforeAll(async () => {
  const specs = await fixturePipelines('manual');
  prod = synthSluice({ stage: 'prod', specs });
  dev = synthSluice({ stage: 'dev', specs });
}, 300_000);

const fn = (t: Template, name: string) =>
  resourceNamed(t, 'AWS::Lambda::Function', `Pipeline${name}Function`)[1];
const anchorStatements = (t: Template, name: string) =>
  statementsOf(t, roleOf(fn(t, name))).filter((s) => JSON.stringify(s.Resource).includes('AuditAnchor'));

function anchorBucket(result: SynthResult) {
  const [, bucket] = resourceNamed(result.template, 'AWS::S3::Bucket', 'AuditAnchorBucket');
  return bucket;
}

describe('audit anchor bucket (14.5)', () => {
  it('has Object Lock COMPLIANCE for 7 years in prod, versioned, TLS only, retained', () => {
    const bucket = anchorBucket(prod);
    expect(bucket.Properties.ObjectLockEnabled).toBe(true);
    expect(bucket.Properties.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2557 } },
    });
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties.PublicAccessBlockConfiguration).toMatchObject({ BlockPublicAcls: true });
  });

  it('uses GOVERNANCE for 7 days in dev, as cdk.json configures it', () => {
    expect(anchorBucket(dev).Properties.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 7 } },
    });
  });

  it('lets commit and fail put locked heads and list versions, and nothing else on the bucket', () => {
    const t = prod.pipelines.manual!;
    for (const step of ['Commit', 'Fail']) {
      const statements = anchorStatements(t, step);
      expect(actionsOf(statements)).toEqual([
        's3:ListBucketVersions',
        's3:PutObject',
        's3:PutObjectRetention',
      ]);
      const put = statements.find((s) => actionsOf([s]).includes('s3:PutObject'));
      expect(JSON.stringify(put?.Resource)).toContain('/audit-anchor/*');
      const list = statements.find((s) => actionsOf([s]).includes('s3:ListBucketVersions'));
      expect(list?.Condition).toEqual({ StringLike: { 's3:prefix': ['audit-anchor/*'] } });
      expect(fn(t, step).Properties.Environment).toMatchObject({
        Variables: {
          SLUICE_AUDIT_ANCHOR_BUCKET: expect.anything(),
          SLUICE_AUDIT_ANCHOR_MODE: 'COMPLIANCE',
          SLUICE_AUDIT_ANCHOR_RETENTION_DAYS: '2557',
        },
      });
    }
    for (const step of ['Prepare', 'ProcessChunks']) {
      expect(anchorStatements(t, step)).toEqual([]);
      expect(JSON.stringify(fn(t, step).Properties.Environment)).not.toContain('SLUICE_AUDIT_ANCHOR');
    }
  });

  it('grants no role of any stack a delete, a lock change or a governance bypass on it', () => {
    const forbidden =
      /^s3:(Delete|PutObjectLegalHold|BypassGovernanceRetention|PutBucketObjectLockConfiguration|\*)/;
    for (const t of [prod.template, ...Object.values(prod.pipelines)]) {
      for (const roleId of Object.keys(resources(t, 'AWS::IAM::Role'))) {
        const onAnchor = statementsOf(t, roleId).filter((s) =>
          JSON.stringify(s.Resource).includes('AuditAnchor'),
        );
        expect(
          actionsOf(onAnchor).filter((a) => forbidden.test(a)),
          roleId,
        ).toEqual([]);
      }
    }
  });

  it('is built by the runtime from SLUICE_AUDIT_ANCHOR_BUCKET, and absent without it', () => {
    const env = parseHandlerEnv({
      SLUICE_STAGING_BUCKET: 'staging',
      SLUICE_DATABASE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db',
      SLUICE_AUDIT_ANCHOR_BUCKET: 'anchors',
      SLUICE_AUDIT_ANCHOR_MODE: 'GOVERNANCE',
    });
    const anchor = auditAnchorFromEnv(env, () => new S3Client({ region: 'eu-west-1' }));
    expect(anchor).toBeInstanceOf(S3ObjectLockAuditAnchor);
    expect(anchor?.describe('db')).toBe('s3://anchors/audit-anchor/db/ (Object Lock GOVERNANCE)');
    const without = parseHandlerEnv({ SLUICE_STAGING_DIR: '.', DATABASE_URL: 'postgres://x' });
    expect(auditAnchorFromEnv(without, () => new S3Client({}))).toBeUndefined();
  });
});
