// Which changes a first load's chunk already read: its pg_current_snapshot() and a transaction's xid.

/** The snapshot a first load's chunk read its key range in (`pg_current_snapshot()::text`). */
export interface ChunkSnapshot {
  lo?: string;
  hi?: string;
  nulls?: boolean;
  /** `xmin:xmax:xip1,xip2,…` with 64-bit (epoch-widened) transaction ids. */
  snapshot: string;
}

const WRAP = 1n << 32n;
const HALF = 1n << 31n;

/**
 * True when transaction `xid` (the 32-bit id pgoutput's Begin carries) had committed for `snapshot`:
 * its changes are already in what a chunk read in that snapshot. The xid is widened to the 64-bit id
 * nearest the snapshot's xmax (the transaction may have started after the snapshot, or long before).
 */
export function committedInSnapshot(snapshot: string, xid: number): boolean {
  const [xminText, xmaxText, xipText = ''] = snapshot.split(':');
  if (xminText === undefined || xmaxText === undefined)
    throw new Error(`not a pg_current_snapshot() value: ${JSON.stringify(snapshot)}`);
  const xmin = BigInt(xminText);
  const xmax = BigInt(xmaxText);
  // The 64-bit id nearest to xmax with these low 32 bits: ids are never more than 2^31 apart.
  let full = (xmax / WRAP) * WRAP + BigInt(xid >>> 0);
  if (full > xmax + HALF) full -= WRAP;
  else if (full + HALF < xmax) full += WRAP;
  if (full < xmin) return true;
  if (full >= xmax) return false;
  return !xipText
    .split(',')
    .filter((x) => x !== '')
    .some((x) => BigInt(x) === full);
}

/**
 * The chunk whose key range holds `key` (integer keys, as minmax splitting plans them; a single
 * unbounded chunk takes every key). Null keys belong to the chunk that read nulls.
 * @throws when a bounded range meets a key that is not an integer: its order would be a guess.
 */
export function snapshotForKey(snapshots: ChunkSnapshot[], key: string | null): ChunkSnapshot | undefined {
  if (key === null) return snapshots.find((s) => s.nulls);
  for (const s of snapshots) {
    if (s.lo === undefined && s.hi === undefined) return s;
    const k = asInteger(key);
    if ((s.lo === undefined || k >= asInteger(s.lo)) && (s.hi === undefined || k < asInteger(s.hi))) return s;
  }
  return undefined;
}

function asInteger(value: string): bigint {
  try {
    return BigInt(value);
  } catch {
    throw new Error(
      `CDC's first load split the table on a key that is not an integer ("${value}"): use an integer source.config.key, or chunks: 1`,
    );
  }
}
