/**
 * Generates the example pipeline's sample data, deterministically: the same bytes on every machine, so
 * the committed files can be checked against it (test/unit/samples.test.ts) and regenerated at will.
 *
 *   npm run samples            # rewrites pipelines/data/orders/
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** mulberry32: tiny, fast, good enough for sample data, and identical everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COUNTRIES = ['de', 'fr', 'nl', 'us', 'gb', 'es', 'it', 'se', 'pl', 'at'];
const CURRENCY: Record<string, string> = { us: 'usd', gb: 'gbp', se: 'sek', pl: 'pln' };
const SKUS = [
  'KB-101',
  'KB-102',
  'MS-210',
  'MS-211',
  'HD-300',
  'CB-020',
  'CB-021',
  'MN-270',
  'DK-500',
  'LT-050',
];
const PRICES: Record<string, string> = {
  'KB-101': '49.90',
  'KB-102': '89.00',
  'MS-210': '19.99',
  'MS-211': '34.50',
  'HD-300': '129.00',
  'CB-020': '7.49',
  'CB-021': '12.99',
  'MN-270': '219.00',
  'DK-500': '349.00',
  'LT-050': '24.95',
};
const STATUSES = ['placed', 'paid', 'paid', 'paid', 'shipped', 'shipped', 'delivered', 'cancelled'];
const NAMES = [
  'anna',
  'ben',
  'chloe',
  'dmitri',
  'emma',
  'farid',
  'greta',
  'hugo',
  'ines',
  'jonas',
  'kemal',
  'lena',
];
const NOTES = [
  '',
  '',
  '',
  '',
  '',
  '',
  'gift wrap',
  'leave at the door, please',
  'call before delivery',
  'invoice to "ACME GmbH", att. accounts',
  'deliver to reception\nbuilding B, 3rd floor',
  'no plastic, thanks',
];

export const MONTHS = ['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06'];
export const HEADER =
  'order_id,ordered_at,customer_email,country,status,sku,quantity,unit_price,currency,note';

/** One CSV field, quoted when it holds a delimiter, quote or newline (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One month of orders as CSV text; `bad` rows are planted at fixed positions so tests know what to expect. */
export function monthCsv(month: string, monthIndex: number, rows: number): string {
  const rand = prng(20260101 + monthIndex);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const days = new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)), 0)).getUTCDate();
  const lines = [HEADER];
  let correction: string[] = [];
  for (let i = 0; i < rows; i++) {
    const id = String(100000 + monthIndex * 10000 + i);
    const day = String(1 + Math.floor(rand() * days)).padStart(2, '0');
    const time = [24, 60, 60].map((m) => String(Math.floor(rand() * m)).padStart(2, '0')).join(':');
    const country = pick(COUNTRIES);
    const sku = pick(SKUS);
    let fields = [
      id,
      `${month}-${day} ${time}`,
      `${pick(NAMES)}.${Math.floor(rand() * 900 + 100)}@example.com`,
      rand() < 0.05 ? ` ${country} ` : country,
      i % 97 === 13 ? 'test' : pick(STATUSES),
      sku,
      String(1 + Math.floor(rand() * 4)),
      PRICES[sku]!,
      CURRENCY[country] ?? 'eur',
      pick(NOTES),
    ];
    // A few bad rows a real export has: each must be quarantined with its reason, never loaded or lost.
    if (i === 41) fields[6] = 'two';
    if (i === 42 && monthIndex === 1) fields[1] = '2026-02-30 10:15:00';
    if (i === 43) fields[0] = '';
    if (i === 44 && monthIndex % 2 === 0) fields[7] = 'n/a';
    if (i === 45 && monthIndex === 3) fields = [...fields, 'stray extra field'];
    if (i === 4) correction = [...fields];
    lines.push(fields.map(csvField).join(','));
  }
  // A late correction, as real exports have: an earlier order of the month again, with a new status.
  // Upsert keeps the later row, so the table holds the refund.
  correction[4] = 'refunded';
  lines.push(correction.map(csvField).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** Writes the sample files: five plain CSV months and the last month gzipped. */
export function writeSamples(dir: string, rowsPerMonth = 800): string[] {
  mkdirSync(dir, { recursive: true });
  return MONTHS.map((month, i) => {
    const csv = monthCsv(month, i, rowsPerMonth);
    const last = i === MONTHS.length - 1;
    const file = join(dir, `orders-${month}.csv${last ? '.gz' : ''}`);
    writeFileSync(file, last ? gzipSync(Buffer.from(csv), { level: 9 }) : csv);
    return file;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? join(fileURLToPath(new URL('.', import.meta.url)), 'data', 'orders');
  for (const f of writeSamples(dir)) process.stdout.write(`wrote ${f}\n`);
}
