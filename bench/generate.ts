import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { csvField, prng } from '../pipelines/generate-samples.js';

/** Columns of the bench table, in file order, with their PostgreSQL types. */
export const BENCH_COLUMNS = {
  order_id: 'bigint',
  order_date: 'date',
  ordered_at: 'timestamp',
  customer_id: 'integer',
  customer_email: 'text',
  country: 'varchar(2)',
  status: 'text',
  quantity: 'integer',
  unit_price: 'numeric(12,2)',
  is_gift: 'boolean',
  note: 'text',
} as const;

/** Columns that are NOT NULL in the target (key and partition column among them). */
export const BENCH_REQUIRED = ['order_id', 'order_date', 'ordered_at', 'status', 'quantity', 'unit_price'];
export const BENCH_KEY = ['order_id', 'order_date'];
/** 24 months: 2023-01 … 2024-12. */
export const BENCH_FIRST_MONTH = { year: 2023, month: 1 };
export const BENCH_MONTHS = 24;

export interface GeneratedData {
  /** Input for Sluice: header, good rows and 1% bad rows. */
  rawFile: string;
  /** The same good rows without the bad ones, ready for `psql \copy` and pgloader. */
  cleanFile: string;
  rows: number;
  goodRows: number;
  badRows: number;
  rawBytes: number;
  cleanBytes: number;
}

const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'NL', 'ES', 'IT', 'PL', 'SE', 'JP'];
const STATUSES = ['paid', 'shipped', 'delivered', 'returned', 'cancelled'];
const NOTES = [
  '',
  '',
  '',
  'gift wrap',
  'leave at the door',
  'call before, "ring twice"',
  'fragile, handle with care',
];
const VERSION = 1;

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/**
 * Writes `<dir>/raw/orders.csv` and `<dir>/clean.csv` for `rows` rows, the same bytes for the same
 * arguments (seeded PRNG). About 1% of rows are bad in one of the ways users' files are: a value the
 * column type cannot hold, an impossible date, a missing field. Reuses the files when they exist.
 */
export function generateBenchData(dir: string, rows: number, seed = 42): GeneratedData {
  const rawFile = join(dir, 'raw', 'orders.csv');
  const cleanFile = join(dir, 'clean.csv');
  const metaFile = join(dir, 'meta.json');
  if (existsSync(metaFile) && existsSync(rawFile) && existsSync(cleanFile)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as GeneratedData & {
      version: number;
      seed: number;
    };
    if (meta.version === VERSION && meta.seed === seed && meta.rows === rows) return meta;
  }
  mkdirSync(dirname(rawFile), { recursive: true });
  const random = prng(seed);
  const rawFd = openSync(`${rawFile}.tmp`, 'w');
  const cleanFd = openSync(`${cleanFile}.tmp`, 'w');
  const header = `${Object.keys(BENCH_COLUMNS).join(',')}\n`;
  let raw = header;
  let clean = header;
  let rawBytes = 0;
  let cleanBytes = 0;
  let badRows = 0;
  const flush = (force: boolean) => {
    if (force || raw.length > 1 << 20) {
      rawBytes += writeSync(rawFd, raw);
      raw = '';
    }
    if (force || clean.length > 1 << 20) {
      cleanBytes += writeSync(cleanFd, clean);
      clean = '';
    }
  };
  for (let i = 1; i <= rows; i++) {
    const monthIndex = Math.floor(random() * BENCH_MONTHS);
    const year = BENCH_FIRST_MONTH.year + Math.floor((BENCH_FIRST_MONTH.month - 1 + monthIndex) / 12);
    const month = ((BENCH_FIRST_MONTH.month - 1 + monthIndex) % 12) + 1;
    const day = 1 + Math.floor(random() * 28);
    const date = `${year}-${pad2(month)}-${pad2(day)}`;
    const time = `${pad2(Math.floor(random() * 24))}:${pad2(Math.floor(random() * 60))}:${pad2(Math.floor(random() * 60))}`;
    const customer = 1 + Math.floor(random() * 500_000);
    const fields = [
      String(i),
      date,
      `${date} ${time}`,
      String(customer),
      random() < 0.05 ? '' : `customer${customer}@example.com`,
      COUNTRIES[Math.floor(random() * COUNTRIES.length)]!,
      STATUSES[Math.floor(random() * STATUSES.length)]!,
      String(1 + Math.floor(random() * 20)),
      (1 + random() * 999).toFixed(2),
      random() < 0.1 ? 'true' : 'false',
      csvField(NOTES[Math.floor(random() * NOTES.length)]!),
    ];
    const bad = random() < 0.01;
    if (bad) {
      badRows++;
      const kind = Math.floor(random() * 4);
      if (kind === 0)
        fields[7] = `${fields[7]}x`; // quantity is not an integer
      else if (kind === 1)
        fields[1] = `${year}-${pad2(month)}-3${2 + (day % 7)}`; // no such day
      else if (kind === 2)
        fields[8] = 'N/A'; // price is not a number
      else fields.pop(); // a field is missing
      raw += `${fields.join(',')}\n`;
    } else {
      const line = `${fields.join(',')}\n`;
      raw += line;
      clean += line;
    }
    flush(false);
  }
  flush(true);
  closeSync(rawFd);
  closeSync(cleanFd);
  renameSync(`${rawFile}.tmp`, rawFile);
  renameSync(`${cleanFile}.tmp`, cleanFile);
  const meta: GeneratedData = {
    rawFile,
    cleanFile,
    rows,
    goodRows: rows - badRows,
    badRows,
    rawBytes,
    cleanBytes,
  };
  writeFileSync(metaFile, JSON.stringify({ ...meta, version: VERSION, seed }, null, 2));
  return meta;
}
