/** The append-only, hash-chained audit trail in `sluice.audit_log`. */

export {
  type AnchoredHead,
  type AnchorOutcome,
  type AuditAnchor,
  AuditAnchorError,
  anchorAfterCommit,
  anchorAuditHead,
  auditDatabaseId,
  readAuditHead,
} from './anchor.js';
export {
  type AuditEvent,
  type AuditKind,
  type AuditProblem,
  type AuditRecord,
  type AuditVerification,
  appendAudit,
  auditRecordHash,
  auditRecordText,
  canonicalJson,
  GENESIS_HASH,
  readAuditLog,
  verifyAuditChain,
} from './log.js';
export { auditedSecretStore } from './secrets.js';
