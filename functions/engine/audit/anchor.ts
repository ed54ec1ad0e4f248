/**
 * The audit chain's head, anchored outside the database.
 *
 * A hash chain alone proves only that the records agree with each other: whoever can write the table
 * (a superuser behind the append-only trigger) can delete the last records, TRUNCATE, or rewrite every
 * record and re-hash the chain, and it still verifies. So after each commit the head (seq and hash of
 * the last record) is also written where the database's users cannot write: a signed file under the
 * local home (HMAC key in a 0600 file, never in the database), or in AWS an S3 object under Object Lock.
 * `sluice audit verify` then checks the chain AND that every anchored head is still in it.
 *
 * The crash window. The anchor is written after the database transaction commits, never before nor
 * inside it (an anchor must never name a record that might roll back). So a crash between the commit
 * and the anchor write leaves the anchor behind the table's head, never ahead of it:
 * - anchor behind, and the records after it chain from it (the chain check covers that): a warning
 *   ("N records not anchored yet"), not a tamper alarm; the next run anchors the head again;
 * - anchor ahead of the table (an anchored record is gone) or an anchored record whose hash differs:
 *   only deletion or rewriting can do that, since the anchor only ever names committed records;
 *   `verify` fails.
 * The next run re-anchors only a head that extends the anchored one (the record at the anchored seq
 * still has the anchored hash, through `sluice.audit_hash_at`): it never launders tampering into a
 * fresh anchor, it refuses (loudly, in the log) and leaves the old anchor for `verify` to report.
 * Records appended after the last anchor (a run that is still going, or one that crashed) can be
 * removed without trace until the next anchor: that window is what is left, and it is one run wide.
 *
 * Anchors are kept per database (system identifier and database name), so one home or bucket can
 * anchor several databases. Two runs anchoring at once may leave the older of two heads: still a head
 * of the chain, so no false alarm, only a slightly longer unanchored tail.
 *
 * The port (AuditAnchor) is in engine/ports/audit-anchor.ts; adapters/audit-anchor implements it.
 */
import { type AnchoredHead, type AuditAnchor, AuditAnchorError } from '../ports/audit-anchor.js';
import type { EngineLogger } from '../ports/events.js';
import type { Warehouse, WarehouseTx } from '../ports/warehouse.js';

export { type AnchoredHead, type AuditAnchor, AuditAnchorError };

/**
 * Which database the audit log lives in, as anchors are keyed: the cluster's system identifier and the
 * database name (both outside what an audit-log writer controls). Falls back to the name alone where
 * the control functions are not available.
 */
export async function auditDatabaseId(db: Pick<Warehouse, 'query'>): Promise<string> {
  try {
    const { rows } = await db.query<{ id: string }>(
      `SELECT system_identifier::text || '/' || current_database() AS id FROM pg_control_system()`,
    );
    if (rows[0]?.id) return rows[0].id;
  } catch {
    // No pg_control_system() here (some managed PostgreSQL): the database name alone.
  }
  const { rows } = await db.query<{ id: string }>('SELECT current_database() AS id');
  return rows[0]!.id;
}

/** The last record's seq and hash, through `sluice.audit_head()` (the loader may call it). */
export async function readAuditHead(
  db: Pick<WarehouseTx, 'query'>,
): Promise<{ seq: number; hash: string } | undefined> {
  const { rows } = await db.query<{ seq: string | number; hash: string }>(
    'SELECT seq, hash FROM sluice.audit_head()',
  );
  const row = rows[0];
  return row ? { seq: Number(row.seq), hash: row.hash } : undefined;
}

export type AnchorOutcome =
  | { status: 'anchored'; head: AnchoredHead }
  | { status: 'unchanged'; head: AnchoredHead }
  | { status: 'empty' }
  | { status: 'refused'; reason: string };

/**
 * Anchors the committed head of the chain. Call it after the transaction that appended the records
 * commits. Refuses (and says why) when the table no longer holds the anchored head: re-anchoring then
 * would hide a deletion or a rewrite.
 */
export async function anchorAuditHead(
  db: Pick<Warehouse, 'query'>,
  anchor: AuditAnchor,
  now: () => Date = () => new Date(),
): Promise<AnchorOutcome> {
  const databaseId = await auditDatabaseId(db);
  const head = await readAuditHead(db);
  const anchored = latest(await anchor.read(databaseId));
  if (anchored) {
    if (!head || anchored.seq > head.seq) {
      return {
        status: 'refused',
        reason: `${anchor.describe(databaseId)} holds record ${anchored.seq}, the audit log ends at ${head?.seq ?? 'no record'}: records were removed`,
      };
    }
    const { rows } = await db.query<{ hash: string | null }>('SELECT sluice.audit_hash_at($1) AS hash', [
      anchored.seq,
    ]);
    if (rows[0]?.hash !== anchored.hash) {
      return {
        status: 'refused',
        reason: `record ${anchored.seq} is not the one ${anchor.describe(databaseId)} holds: the chain was rewritten`,
      };
    }
    if (anchored.seq === head.seq) return { status: 'unchanged', head: anchored };
  }
  if (!head) return { status: 'empty' };
  const next: AnchoredHead = { seq: head.seq, hash: head.hash, at: now().toISOString() };
  await anchor.write(databaseId, next);
  return { status: 'anchored', head: next };
}

/**
 * The engine's call after a commit (or a failure mark) committed: anchors the head, and on refusal or
 * error logs it at error level without failing the step (the data is committed; `sluice audit verify`
 * is where tampering is reported, with a non-zero exit).
 */
export async function anchorAfterCommit(
  db: Pick<Warehouse, 'query'>,
  anchor: AuditAnchor | undefined,
  logger: EngineLogger,
  context: Record<string, unknown> = {},
): Promise<void> {
  if (!anchor) return;
  try {
    const outcome = await anchorAuditHead(db, anchor);
    if (outcome.status === 'refused') {
      logger.error('audit anchor NOT updated: the audit log does not extend the anchored head', {
        ...context,
        reason: outcome.reason,
        next: 'run `sluice audit verify`',
      });
    } else if (outcome.status === 'anchored') {
      logger.info('audit head anchored', { ...context, seq: outcome.head.seq });
    }
  } catch (error) {
    logger.error('audit anchor NOT updated', {
      ...context,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      next: 'the next run anchors the head again; `sluice audit verify` warns until then',
    });
  }
}

/** The anchored head with the highest seq. */
export function latest(heads: readonly AnchoredHead[]): AnchoredHead | undefined {
  let best: AnchoredHead | undefined;
  for (const h of heads) if (!best || h.seq > best.seq) best = h;
  return best;
}
