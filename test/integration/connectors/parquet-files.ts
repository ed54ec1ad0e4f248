import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';

/** Writes `events-<n>.parquet` with ids [from, from + rows), in row groups of `rowGroupSize`. */
export function writeEventsParquet(
  dir: string,
  n: number,
  from: number,
  rows: number,
  rowGroupSize: number,
): void {
  const ids = Array.from({ length: rows }, (_, i) => BigInt(from + i));
  const at = ids.map((id) => new Date(Date.UTC(2026, 0, 1) + Number(id) * 60_000));
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: ids, type: 'INT64', nullable: false },
      { name: 'at', data: at, type: 'TIMESTAMP', nullable: false },
      { name: 'day', data: at.map((d) => d.toISOString().slice(0, 10)), type: 'STRING', nullable: false },
      { name: 'kind', data: ids.map((id) => (id % 2n === 0n ? 'view' : 'click')), type: 'STRING' },
      { name: 'score', data: ids.map((id) => Number(id) / 4), type: 'DOUBLE' },
    ],
    rowGroupSize,
  });
  writeFileSync(join(dir, `events-${n}.parquet`), new Uint8Array(buffer));
}
