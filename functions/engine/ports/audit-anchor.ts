// The AuditAnchor port: where the audit chain's head is anchored (see engine/audit/anchor.ts for why).
export interface AnchoredHead {
  seq: number;
  hash: string;
  /** When it was anchored, ISO 8601. */
  at: string;
}

/** Where heads are anchored; the engine's port, implemented by adapters/audit-anchor. */
export interface AuditAnchor {
  /** For messages: e.g. `signed head file .sluice/audit-anchor/….json`. */
  describe(databaseId: string): string;
  /**
   * The heads anchored for this database, oldest first (a signed file keeps the latest; an S3 bucket
   * under Object Lock keeps every one). Empty when none was anchored yet. Throws AuditAnchorError when
   * an anchor is not authentic.
   */
  read(databaseId: string): Promise<AnchoredHead[]>;
  write(databaseId: string, head: AnchoredHead): Promise<void>;
}

/** An anchor that cannot be trusted (bad signature, unreadable, missing key). */
export class AuditAnchorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditAnchorError';
  }
}
