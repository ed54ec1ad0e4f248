import { describe, expect, it } from 'vitest';
import { formatPgTimestamp } from '../../../functions/connectors/postgres/cdc/pgoutput.js';
import { committedInSnapshot, snapshotForKey } from '../../../functions/connectors/postgres/cdc/snapshot.js';

/**
 * Which changes a CDC first load's chunk already read: a transaction (its 32-bit xid from pgoutput's
 * Begin) committed in the chunk's pg_current_snapshot() is skipped, every other one applied.
 */
describe('committedInSnapshot', () => {
  it('counts xids below xmin as committed, and xmax and above as not', () => {
    expect(committedInSnapshot('749:752:', 700)).toBe(true);
    expect(committedInSnapshot('749:752:', 752)).toBe(false);
    expect(committedInSnapshot('749:752:', 753)).toBe(false);
    expect(committedInSnapshot('749:752:', 900_000)).toBe(false);
  });

  it('counts xids in progress for the snapshot as not committed', () => {
    expect(committedInSnapshot('749:752:749,751', 749)).toBe(false);
    expect(committedInSnapshot('749:752:749,751', 750)).toBe(true);
    expect(committedInSnapshot('749:752:749,751', 751)).toBe(false);
  });

  it('widens the xid to the epoch nearest xmax, across a wraparound', () => {
    const epoch1 = 1n << 32n;
    // xmax just after a wrap: an old xid near 2^32 is from the epoch before, and committed.
    expect(committedInSnapshot(`${epoch1 - 10n}:${epoch1 + 5n}:`, 0xffff_fff0)).toBe(true);
    // xmax just before a wrap: a new xid just after 0 is from the next epoch, and not committed.
    expect(committedInSnapshot(`${epoch1 - 10n}:${epoch1 - 5n}:`, 3)).toBe(false);
  });

  it('fails when the snapshot is not one', () => {
    expect(() => committedInSnapshot('nonsense', 1)).toThrow('not a pg_current_snapshot() value');
  });
});

describe('snapshotForKey', () => {
  const chunks = [
    { nulls: true, hi: '251', snapshot: 'a' },
    { lo: '251', hi: '501', snapshot: 'b' },
    { lo: '501', snapshot: 'c' },
  ];

  it('finds the chunk whose key range holds the key, nulls in the first', () => {
    expect(snapshotForKey(chunks, '-5')?.snapshot).toBe('a');
    expect(snapshotForKey(chunks, '250')?.snapshot).toBe('a');
    expect(snapshotForKey(chunks, '251')?.snapshot).toBe('b');
    expect(snapshotForKey(chunks, '9007199254740993')?.snapshot).toBe('c');
    expect(snapshotForKey(chunks, null)?.snapshot).toBe('a');
  });

  it('fails when a bounded range meets a key that is not an integer', () => {
    expect(() => snapshotForKey(chunks, 'abc')).toThrow('not an integer');
  });
});

describe('formatPgTimestamp', () => {
  it('writes microseconds since 2000-01-01 as exact timestamptz text (as PostgreSQL computes it)', () => {
    expect(formatPgTimestamp(0n)).toBe('2000-01-01 00:00:00.000000+00');
    expect(formatPgTimestamp(851_990_221_123_456n)).toBe('2026-12-30 23:57:01.123456+00');
    expect(formatPgTimestamp(-1n)).toBe('1999-12-31 23:59:59.999999+00');
  });
});
