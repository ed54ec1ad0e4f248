// A decoder for PostgreSQL's pgoutput logical replication messages (protocol version 1), as pg_logical_slot_peek_binary_changes returns them.
// Hand-written on purpose: Sluice reads changes through the SQL functions (a peek bounded by an LSN, an advance only
// after the load's commit) from stateless workers, and the npm pgoutput decoders come inside streaming replication
// clients built around a live replication connection; protocol version 1 is small and documented, and
// test/integration/cdc/slot.test.ts plus the CDC e2e tests check this decoder against a real server.

/** A column of a relation as the stream describes it; `key`: part of the replica identity. */
export interface PgoutputColumn {
  name: string;
  typeOid: number;
  key: boolean;
}

export interface PgoutputRelation {
  id: number;
  schema: string;
  table: string;
  /** d(efault: the primary key), n(othing), f(ull), i(ndex). */
  replicaIdentity: string;
  columns: PgoutputColumn[];
}

/** A row's values as PostgreSQL's text; null for NULL; `unchanged` lists TOASTed columns not sent. */
export interface PgoutputTuple {
  values: Record<string, string | null>;
  unchanged: string[];
}

export type PgoutputMessage =
  | { kind: 'begin'; finalLsn: string; xid: number; commitTime: string }
  | { kind: 'commit'; commitLsn: string; endLsn: string }
  | { kind: 'relation'; relation: PgoutputRelation }
  | { kind: 'insert'; relation: PgoutputRelation; row: PgoutputTuple }
  | { kind: 'update'; relation: PgoutputRelation; row: PgoutputTuple; old?: PgoutputTuple }
  | { kind: 'delete'; relation: PgoutputRelation; old: PgoutputTuple }
  | { kind: 'truncate'; relations: PgoutputRelation[] }
  | { kind: 'other'; tag: string };

/** An LSN as PostgreSQL writes it: `16/B374D848`. */
export function formatLsn(high: number, low: number): string {
  return `${high.toString(16).toUpperCase()}/${low.toString(16).toUpperCase()}`;
}

/** Microseconds since 2000-01-01 UTC (PostgreSQL's epoch) → `2026-12-05 00:17:01.123456+00`, exact. */
export function formatPgTimestamp(micros: bigint): string {
  const unixMicros = micros + 946_684_800_000_000n;
  const ms = unixMicros / 1000n - (unixMicros % 1000n < 0n ? 1n : 0n);
  const frac = ((unixMicros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2026-12-05T00:17:01.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${frac.toString().padStart(6, '0')}+00`;
}

/** A bytea as the driver returns it: a Buffer, or PostgreSQL's hex text (`\\x…`) with text-only type parsers. */
export function byteaValue(value: Buffer | string): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (!value.startsWith('\\x')) throw new Error('pgoutput: a message that is not bytea hex text');
  return Buffer.from(value.slice(2), 'hex');
}

/** Orders two LSNs (`X/Y`): negative, 0 or positive. */
export function compareLsn(a: string, b: string): number {
  const [ah, al] = a.split('/').map((p) => Number.parseInt(p, 16)) as [number, number];
  const [bh, bl] = b.split('/').map((p) => Number.parseInt(p, 16)) as [number, number];
  return ah !== bh ? ah - bh : al - bl;
}

/**
 * Decodes a stream's messages in order; relations are remembered across calls (a Relation message
 * precedes the first change of a table in each session), so use one decoder per read.
 * @throws Error naming the message when it is cut short or refers to a relation never described.
 */
export class PgoutputDecoder {
  private readonly relations = new Map<number, PgoutputRelation>();

  decode(data: Buffer): PgoutputMessage {
    const r = new Reader(data);
    const tag = r.char();
    switch (tag) {
      case 'B': {
        const finalLsn = r.lsn();
        const commitTime = formatPgTimestamp(r.int64());
        // The xid is unsigned on the wire (a 32-bit transaction id).
        return { kind: 'begin', finalLsn, commitTime, xid: r.int32() >>> 0 };
      }
      case 'C': {
        r.skip(1); // flags
        return { kind: 'commit', commitLsn: r.lsn(), endLsn: r.lsn() };
      }
      case 'R': {
        const id = r.int32();
        const schema = r.string();
        const table = r.string();
        const replicaIdentity = r.char();
        const n = r.int16();
        const columns: PgoutputColumn[] = [];
        for (let i = 0; i < n; i++) {
          const flags = r.int8();
          const name = r.string();
          const typeOid = r.int32();
          r.skip(4); // typmod
          columns.push({ name, typeOid, key: (flags & 1) === 1 });
        }
        const relation = { id, schema, table, replicaIdentity, columns };
        this.relations.set(id, relation);
        return { kind: 'relation', relation };
      }
      case 'I': {
        const relation = this.relation(r.int32());
        r.expect('N');
        return { kind: 'insert', relation, row: this.tuple(r, relation) };
      }
      case 'U': {
        const relation = this.relation(r.int32());
        let marker = r.char();
        let old: PgoutputTuple | undefined;
        if (marker === 'K' || marker === 'O') {
          old = this.tuple(r, relation);
          marker = r.char();
        }
        if (marker !== 'N') throw new Error(`pgoutput: update of ${relation.table} without its new row`);
        const row = this.tuple(r, relation);
        return { kind: 'update', relation, row, ...(old ? { old } : {}) };
      }
      case 'D': {
        const relation = this.relation(r.int32());
        const marker = r.char();
        if (marker !== 'K' && marker !== 'O')
          throw new Error(`pgoutput: delete from ${relation.table} without its key`);
        return { kind: 'delete', relation, old: this.tuple(r, relation) };
      }
      case 'T': {
        const n = r.int32();
        r.skip(1); // options
        const relations: PgoutputRelation[] = [];
        for (let i = 0; i < n; i++) relations.push(this.relation(r.int32()));
        return { kind: 'truncate', relations };
      }
      default:
        return { kind: 'other', tag };
    }
  }

  private relation(id: number): PgoutputRelation {
    const relation = this.relations.get(id);
    if (!relation) throw new Error(`pgoutput: a change of relation ${id} before its Relation message`);
    return relation;
  }

  private tuple(r: Reader, relation: PgoutputRelation): PgoutputTuple {
    const n = r.int16();
    const values: Record<string, string | null> = {};
    const unchanged: string[] = [];
    for (let i = 0; i < n; i++) {
      const name = relation.columns[i]?.name ?? `column${i + 1}`;
      const kind = r.char();
      if (kind === 'n') values[name] = null;
      else if (kind === 'u') unchanged.push(name);
      else if (kind === 't' || kind === 'b') values[name] = r.bytes(r.int32()).toString('utf8');
      else throw new Error(`pgoutput: unknown column kind ${JSON.stringify(kind)} in ${relation.table}`);
    }
    return { values, unchanged };
  }
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new Error(`pgoutput: message cut short at byte ${this.at}`);
  }
  char(): string {
    this.need(1);
    return String.fromCharCode(this.buf[this.at++]!);
  }
  expect(c: string): void {
    const got = this.char();
    if (got !== c) throw new Error(`pgoutput: expected ${c}, found ${got}`);
  }
  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.at++);
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.at);
    this.at += 8;
    return v;
  }
  lsn(): string {
    this.need(8);
    const v = formatLsn(this.buf.readUInt32BE(this.at), this.buf.readUInt32BE(this.at + 4));
    this.at += 8;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.at += n;
  }
  string(): string {
    const end = this.buf.indexOf(0, this.at);
    if (end < 0) throw new Error(`pgoutput: unterminated string at byte ${this.at}`);
    const s = this.buf.toString('utf8', this.at, end);
    this.at = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
}
