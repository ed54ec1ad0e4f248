import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectLockAuditAnchor } from '../../../functions/adapters/audit-anchor/s3-object-lock.js';
import { PgliteWarehouse } from '../../../functions/adapters/warehouse/pglite.js';
import { anchorAuditHead, auditDatabaseId } from '../../../functions/engine/audit/anchor.js';
import {
  appendAudit,
  auditRecordHash,
  readAuditLog,
  verifyAuditChain,
} from '../../../functions/engine/audit/log.js';
import { ensureInternalSchema } from '../../../functions/engine/load/migrations.js';
import { objectLockBucket } from '../../support/object-lock-bucket.js';

/**
 * The S3 anchor keeps every head ever anchored (Object Lock): someone who rewrites the chain AND can
 * anchor its new head (a stolen loader role) still fails verify, because the old heads stay.
 */
describe('the S3 Object Lock anchor against a rewritten, re-anchored chain (PGlite, mocked S3)', () => {
  let wh: PgliteWarehouse;
  let bucket: ReturnType<typeof objectLockBucket>;
  const anchor = () =>
    new S3ObjectLockAuditAnchor({ client: new S3Client({ region: 'eu-west-1' }), bucket: 'anchors' });
  beforeAll(async () => {
    bucket = objectLockBucket(1000);
    wh = await PgliteWarehouse.open();
    await ensureInternalSchema(wh);
    for (const pipeline of ['a', 'b']) {
      await appendAudit(wh, { kind: 'run.started', pipeline });
      await anchorAuditHead(wh, anchor());
    }
  });
  afterAll(async () => {
    bucket.s3.restore();
    await wh?.close();
  });

  it('passes the chain as anchored, one head per commit', async () => {
    const result = await verifyAuditChain(wh, { anchor: anchor() });

    expect(result).toMatchObject({ ok: true, problems: [], warnings: [] });
    expect(bucket.versions.map((v) => v.key.replace(/^.*\//, '').slice(0, 20))).toEqual([
      '00000000000000000002',
      '00000000000000000003',
    ]);
  });

  it('fails when the chain is rewritten, re-hashed and its new head anchored over the old ones', async () => {
    const records = await readAuditLog(wh);
    let prev = records[0]!.hash;
    await wh.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      for (const r of records.slice(1)) {
        const changed = { ...r, pipeline: `${r.pipeline}-rewritten` };
        const hash = auditRecordHash(prev, changed);
        await tx.query(
          'UPDATE sluice.audit_log SET pipeline = $1, prev_hash = $2, hash = $3 WHERE seq = $4',
          [changed.pipeline, prev, hash, r.seq],
        );
        prev = hash;
      }
    });
    await appendAudit(wh, { kind: 'run.started', pipeline: 'c' });
    // What a stolen loader role could do: anchor the new head directly.
    const head = (await readAuditLog(wh)).at(-1)!;
    await anchor().write(await auditDatabaseId(wh), {
      seq: head.seq,
      hash: head.hash,
      at: new Date().toISOString(),
    });

    const result = await verifyAuditChain(wh, { anchor: anchor() });

    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => p.seq)).toEqual([2, 3]);
    expect(result.problems[0]!.problem).toMatch(
      /^not the record anchored in s3:\/\/anchors\/audit-anchor\/.+ \(Object Lock COMPLIANCE\) on .+: the chain was rewritten up to here$/,
    );
  });
});
