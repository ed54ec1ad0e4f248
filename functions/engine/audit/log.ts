import { createHash } from 'node:crypto';
import type { Warehouse, WarehouseTx } from '../ports/warehouse.js';
import { type AnchoredHead, type AuditAnchor, AuditAnchorError, auditDatabaseId, latest } from './anchor.js';

/** What the audit trail records; one kind per event a data team would be asked about. */
export type AuditKind =
  | 'run.started'
  | 'run.committed'
  | 'run.failed'
  | 'run.redriven'
  | 'schema.migrated'
  | 'partitions.dropped'
  | 'credentials.read'
  | 'state.reset';

export interface AuditEvent {
  kind: AuditKind;
  pipeline?: string;
  runId?: string;
  /** Facts about the event: names, counts, ids. Never a credential value. */
  detail?: Record<string, unknown>;
}

/** The hash a chain starts from (the `prev_hash` of record 1). */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Appends one record to `sluice.audit_log` through `sluice.audit_append` (SECURITY DEFINER: the loader
 * may call it but holds no privilege on the table). The actor is the connection's login, which the
 * function reads itself (`session_user`): no caller can choose it. Inside a caller's transaction the
 * record commits or rolls back with the work it describes.
 */
export async function appendAudit(db: Pick<WarehouseTx, 'query'>, event: AuditEvent): Promise<void> {
  await db.query('SELECT sluice.audit_append($1, $2, $3::uuid, $4)', [
    event.kind,
    event.pipeline ?? null,
    event.runId ?? null,
    canonicalJson(event.detail ?? {}),
  ]);
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** A record as stored. */
export interface AuditRecord {
  seq: number;
  /** ISO 8601, millisecond precision (what the hash covers). */
  at: string;
  kind: string;
  pipeline: string | null;
  runId: string | null;
  actor: string;
  /** Canonical JSON text. */
  detail: string;
  prevHash: string;
  hash: string;
}

/**
 * The text a record's hash covers: each field as `<UTF-8 byte length>:<value>` (`N` for null), so no two
 * different records share it. `sluice.audit_append` builds the same text in SQL.
 */
export function auditRecordText(r: Omit<AuditRecord, 'prevHash' | 'hash'>): string {
  const field = (v: string | null) => (v === null ? 'N' : `${Buffer.byteLength(v, 'utf8')}:${v}`);
  return [String(r.seq), r.at, r.kind, r.pipeline, r.runId, r.actor, r.detail].map(field).join('');
}

/** sha256(prev_hash || record text), hex. */
export function auditRecordHash(prevHash: string, r: Omit<AuditRecord, 'prevHash' | 'hash'>): string {
  return createHash('sha256')
    .update(prevHash + auditRecordText(r), 'utf8')
    .digest('hex');
}

export interface AuditProblem {
  seq: number;
  problem: string;
}

export interface AuditVerification {
  ok: boolean;
  records: number;
  /** Hash of the last record. */
  head: string;
  problems: AuditProblem[];
  /** What is not tampering but not proven either: records not anchored yet, no anchor given. */
  warnings: string[];
  /** The latest anchored head checked, and where it is kept. */
  anchor?: { seq: number; hash: string; at: string; where: string };
}

/**
 * Recomputes the whole chain in this process (trusting no function in the database) and reports every
 * record whose content, link or numbering does not match; with an anchor (see anchor.ts), also every
 * anchored head the table no longer holds: records removed from the end, a TRUNCATE, a re-hashed chain.
 */
export async function verifyAuditChain(
  wh: Pick<Warehouse, 'query'>,
  options: { anchor?: AuditAnchor } = {},
): Promise<AuditVerification> {
  const records = await readAuditLog(wh);
  const problems: AuditProblem[] = [];
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const r of records) {
    if (r.seq !== expectedSeq)
      problems.push({ seq: r.seq, problem: `expected record ${expectedSeq} here: records are missing` });
    if (r.prevHash !== prev)
      problems.push({ seq: r.seq, problem: 'prev_hash does not match the record before it' });
    const recomputed = auditRecordHash(r.prevHash, r);
    if (recomputed !== r.hash)
      problems.push({ seq: r.seq, problem: 'content changed: its hash does not match what it says' });
    prev = r.hash;
    expectedSeq = r.seq + 1;
  }
  const warnings: string[] = [];
  const result: AuditVerification = { ok: false, records: records.length, head: prev, problems, warnings };
  if (options.anchor) await checkAnchors(wh, options.anchor, records, result);
  else warnings.push('not checked against an anchor: removed or re-hashed records at the end would pass');
  result.ok = problems.length === 0;
  return result;
}

async function checkAnchors(
  wh: Pick<Warehouse, 'query'>,
  anchor: AuditAnchor,
  records: readonly AuditRecord[],
  result: AuditVerification,
): Promise<void> {
  const databaseId = await auditDatabaseId(wh);
  const where = anchor.describe(databaseId);
  let heads: AnchoredHead[];
  try {
    heads = await anchor.read(databaseId);
  } catch (error) {
    if (!(error instanceof AuditAnchorError)) throw error;
    result.problems.push({ seq: 0, problem: error.message });
    return;
  }
  const last = records.at(-1);
  const top = latest(heads);
  if (!top) {
    if (last)
      result.warnings.push(
        `no anchored head in ${where} yet: records removed from the end would pass until a run anchors it`,
      );
    return;
  }
  result.anchor = { ...top, where };
  const bySeq = new Map(records.map((r) => [r.seq, r]));
  for (const h of heads) {
    const record = bySeq.get(h.seq);
    if (!last || h.seq > last.seq) {
      result.problems.push({
        seq: h.seq,
        problem: `anchored in ${where} on ${h.at}, but the audit log ends at ${last ? `record ${last.seq}` : 'no record (emptied)'}: records were removed from the end`,
      });
    } else if (!record) {
      result.problems.push({
        seq: h.seq,
        problem: `anchored in ${where} on ${h.at}, but missing from the audit log`,
      });
    } else if (record.hash !== h.hash) {
      result.problems.push({
        seq: h.seq,
        problem: `not the record anchored in ${where} on ${h.at}: the chain was rewritten up to here`,
      });
    }
  }
  if (last && top.seq < last.seq) {
    result.warnings.push(
      `${last.seq - top.seq} record(s) after the anchored head (record ${top.seq}) are not anchored yet: a run is going, or ended between its commit and the anchor write; the next run anchors them`,
    );
  }
}

/** The audit trail in order (needs SELECT on sluice.audit_log: the auditor role). */
export async function readAuditLog(
  wh: Pick<Warehouse, 'query'>,
  options: { runId?: string; pipeline?: string } = {},
): Promise<AuditRecord[]> {
  const { rows } = await wh.query<{
    seq: number | string;
    at: string;
    kind: string;
    pipeline: string | null;
    run_id: string | null;
    actor: string;
    detail: string;
    prev_hash: string;
    hash: string;
  }>(
    // `at` as the text the hash covers (sluice.audit_append's to_char), not a driver's timestamp: the
    // RDS Data API returns timestamptz as zone-less text, which a Date would read in local time.
    `SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, kind, pipeline,
            run_id::text AS run_id, actor, detail, prev_hash, hash
       FROM sluice.audit_log
      WHERE ($1::uuid IS NULL OR run_id = $1::uuid) AND ($2::text IS NULL OR pipeline = $2)
      ORDER BY seq`,
    [options.runId ?? null, options.pipeline ?? null],
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    at: r.at,
    kind: r.kind,
    pipeline: r.pipeline,
    runId: r.run_id,
    actor: r.actor,
    detail: r.detail,
    prevHash: r.prev_hash,
    hash: r.hash,
  }));
}
