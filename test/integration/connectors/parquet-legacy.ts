import { writeFileSync } from 'node:fs';
import { parquetWriteBuffer } from 'hyparquet-writer';

/**
 * What DuckDB (the independent writer of parquet-exact.test.ts) cannot write, made with hyparquet-writer
 * and two hand-made pieces, each checked by the test through DuckDB's own reading of the file:
 * - INT96 timestamps (legacy Spark/Impala): hyparquet-writer has no INT96, so the column is written as
 *   FIXED_LEN_BYTE_ARRAY(12) (the same 12 plain bytes: nanoseconds of the day, then the Julian day, both
 *   little-endian) and the footer's physical type is patched to INT96;
 * - DECIMAL stored as BYTE_ARRAY (big-endian two's complement, as parquet-mr writes binary decimals);
 * - the LZ4 codec with Hadoop framing (per block: uncompressed and compressed length, big-endian), the
 *   block being valid LZ4 made of literals only: DuckDB writes `lz4` as LZ4_RAW, and reads no Hadoop LZ4,
 *   so the test compares that copy with DuckDB's reading of the uncompressed one (same pages).
 */
export interface LegacyRow {
  id: number;
  /** Nanoseconds since 1970-01-01 UTC. */
  nanos: bigint;
  /** The DECIMAL(38,2)'s unscaled integer, or null. */
  unscaled: bigint | null;
}

const JULIAN_DAY_OF_1970 = 2_440_588n;
const NANOS_PER_DAY = 86_400_000_000_000n;

export function writeLegacyParquet(file: string, rows: LegacyRow[], codec: 'UNCOMPRESSED' | 'LZ4'): void {
  const buffer = parquetWriteBuffer({
    schema: [
      { name: 'root', num_children: 4 },
      { name: 'codec', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'id', type: 'INT32', repetition_type: 'REQUIRED' },
      { name: 'at96', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 12, repetition_type: 'REQUIRED' },
      {
        name: 'amount',
        type: 'BYTE_ARRAY',
        converted_type: 'DECIMAL',
        precision: 38,
        scale: 2,
        repetition_type: 'OPTIONAL',
      },
    ],
    columnData: [
      { name: 'codec', data: rows.map(() => codec) },
      { name: 'id', data: Int32Array.from(rows, (r) => r.id) },
      { name: 'at96', data: rows.map((r) => int96(r.nanos)) },
      { name: 'amount', data: rows.map((r) => r.unscaled) },
    ],
    codec,
    compressors: { LZ4: hadoopLz4 },
    statistics: false,
  });
  writeFileSync(file, patchFixedLen12ToInt96(new Uint8Array(buffer)));
}

function int96(nanos: bigint): Uint8Array {
  let day = nanos / NANOS_PER_DAY;
  let ofDay = nanos % NANOS_PER_DAY;
  if (ofDay < 0n) {
    day -= 1n;
    ofDay += NANOS_PER_DAY;
  }
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, ofDay, true);
  view.setUint32(8, Number(day + JULIAN_DAY_OF_1970), true);
  return bytes;
}

/** One Hadoop LZ4 frame holding one LZ4 block of literals only (valid LZ4, no matches). */
function hadoopLz4(input: Uint8Array): Uint8Array {
  const lengthBytes: number[] = [];
  let rest = input.length - 15;
  if (rest >= 0) {
    for (; rest >= 255; rest -= 255) lengthBytes.push(255);
    lengthBytes.push(rest);
  }
  const block = new Uint8Array(1 + lengthBytes.length + input.length);
  block[0] = Math.min(input.length, 15) << 4;
  block.set(lengthBytes, 1);
  block.set(input, 1 + lengthBytes.length);
  const framed = new Uint8Array(8 + block.length);
  const view = new DataView(framed.buffer);
  view.setUint32(0, input.length, false);
  view.setUint32(4, block.length, false);
  framed.set(block, 8);
  return framed;
}

/**
 * Patches the footer (Thrift compact protocol) where a FIXED_LEN_BYTE_ARRAY(12) is declared: in the
 * SchemaElement (`type` = 7, then `type_length` = 12: bytes 15 0E 15 18) and in the ColumnMetaData
 * (`type` = 7, then the `encodings` list: bytes 15 0E 19), the type becomes INT96 (3: byte 06).
 */
function patchFixedLen12ToInt96(file: Uint8Array): Uint8Array {
  const footerLength = new DataView(file.buffer, file.byteOffset).getUint32(file.length - 8, true);
  const start = file.length - 8 - footerLength;
  let patched = 0;
  for (let i = start; i < file.length - 8 - 3; i++) {
    if (file[i] !== 0x15 || file[i + 1] !== 0x0e) continue;
    const schemaElement = file[i + 2] === 0x15 && file[i + 3] === 0x18;
    const columnMeta = file[i + 2] === 0x19;
    if (schemaElement || columnMeta) {
      file[i + 1] = 0x06;
      patched++;
    }
  }
  if (patched !== 2) throw new Error(`expected to patch 2 type fields to INT96, patched ${patched}`);
  return file;
}
