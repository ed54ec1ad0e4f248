import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type AnchoredHead, type AuditAnchor, AuditAnchorError } from '../../engine/ports/audit-anchor.js';

export interface LocalAuditAnchorProps {
  /** Folder of the signed head files, one per database. */
  readonly dir: string;
  /**
   * The HMAC-SHA256 key (32 random bytes as hex), created 0600 on the first write; never in the
   * database. @default `<dir>.key`
   */
  readonly keyFile?: string;
}

interface HeadFileV1 extends AnchoredHead {
  v: 1;
  database: string;
  /** hex HMAC-SHA256 of signedText(...) */
  mac: string;
}

/**
 * The local anchor: the chain's head in a JSON file per database, signed with HMAC-SHA256 under a key
 * kept in a 0600 file next to it (`.sluice/audit-anchor.key`), outside the database. Someone who can
 * write the database but not this folder can neither forge a head nor move it.
 *
 * Limit: it keeps the latest head only, so someone who can write this folder (and so read the key) can
 * put back an older signed head; in AWS the S3 anchor under Object Lock keeps every head.
 */
export class LocalAuditAnchor implements AuditAnchor {
  private readonly dir: string;
  private readonly keyFile: string;

  constructor(props: LocalAuditAnchorProps) {
    this.dir = props.dir;
    this.keyFile = props.keyFile ?? `${props.dir}.key`;
  }

  describe(databaseId: string): string {
    return `signed head file ${this.fileOf(databaseId)}`;
  }

  async read(databaseId: string): Promise<AnchoredHead[]> {
    const file = this.fileOf(databaseId);
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (text === undefined) return [];
    let head: Partial<HeadFileV1>;
    try {
      head = JSON.parse(text) as Partial<HeadFileV1>;
    } catch {
      throw new AuditAnchorError(`${file} is not an audit anchor (not JSON): it was edited`);
    }
    const key = await this.readKey().catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT')
        throw new AuditAnchorError(`${file} exists but its key ${this.keyFile} does not: cannot check it`);
      throw error;
    });
    if (
      head.v !== 1 ||
      head.database !== databaseId ||
      typeof head.seq !== 'number' ||
      typeof head.hash !== 'string' ||
      typeof head.at !== 'string' ||
      typeof head.mac !== 'string' ||
      !sameMac(head.mac, mac(key, databaseId, head as AnchoredHead))
    ) {
      throw new AuditAnchorError(
        `${file} is not signed by ${this.keyFile} for this database: the anchored head was edited`,
      );
    }
    return [{ seq: head.seq, hash: head.hash, at: head.at }];
  }

  async write(databaseId: string, head: AnchoredHead): Promise<void> {
    const key = await this.keyForWriting();
    const file = this.fileOf(databaseId);
    const body: HeadFileV1 = { v: 1, database: databaseId, ...head, mac: mac(key, databaseId, head) };
    await mkdir(this.dir, { recursive: true });
    // Whole or not at all: a crash mid-write leaves the previous head, never half a file.
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, `${JSON.stringify(body)}\n`, { mode: 0o600 });
      await rename(temp, file);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  private fileOf(databaseId: string): string {
    return path.join(this.dir, `${databaseId.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  }

  private async readKey(): Promise<Buffer> {
    const info = await stat(this.keyFile);
    if ((info.mode & 0o077) !== 0) {
      throw new AuditAnchorError(
        `${this.keyFile} can be read by others (mode ${(info.mode & 0o777).toString(8)}): chmod 600 it`,
      );
    }
    const key = Buffer.from((await readFile(this.keyFile, 'utf8')).trim(), 'hex');
    if (key.length !== 32) throw new AuditAnchorError(`${this.keyFile} is not a 32-byte key written as hex`);
    return key;
  }

  private async keyForWriting(): Promise<Buffer> {
    await mkdir(path.dirname(this.keyFile), { recursive: true });
    try {
      // 'wx': the first writer creates it; a second one at the same moment reads the first one's.
      await writeFile(this.keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      await chmod(this.keyFile, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    return this.readKey();
  }
}

function mac(key: Buffer, databaseId: string, head: AnchoredHead): string {
  return createHmac('sha256', key)
    .update(`sluice-audit-anchor/v1\n${databaseId}\n${head.seq}\n${head.hash}\n${head.at}`, 'utf8')
    .digest('hex');
}

function sameMac(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
