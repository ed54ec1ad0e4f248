const NL = 0x0a;

export interface RecordScannerOptions {
  format: 'csv' | 'jsonl';
  /** CSV quote byte. @default '"' */
  quote?: number;
  /** CSV escape byte inside quoted fields; equal to quote means RFC 4180 doubled quotes. @default quote */
  escape?: number;
}

/**
 * Finds record boundaries in a byte stream without decoding it: the planner cuts chunks at them and
 * the reader splits its range with them, so both always agree on where records start.
 *
 * A JSON Lines record ends at every '\n'. A CSV record ends at a '\n' outside quotes; quote state is
 * tracked the way csv-parse reads fields (a quote opens, the next quote closes, a doubled quote is one
 * quote, an escape byte inside quotes makes the next byte literal), so quoted newlines, delimiters and
 * doubled quotes stay inside their record for LF and CRLF files. Malformed input (a stray quote) still
 * gets boundaries; csv-parse then rejects the record the stray quote swallowed.
 *
 * Scanning jumps between '\n' and quote bytes with Buffer.indexOf (native memchr), never per character
 * in JS. Feed buffers in order; state carries across them.
 */
export class RecordScanner {
  /** '\n' bytes seen so far, i.e. physical lines completed. */
  lines = 0;
  private inQuotes = false;
  /** The previous buffer ended with an escape byte inside quotes: this buffer's first byte is literal. */
  private pendingEscape = false;
  private readonly csv: boolean;
  private readonly quote: number;
  private readonly escape: number;
  private readonly escapeDiffers: boolean;

  constructor(options: RecordScannerOptions) {
    this.csv = options.format === 'csv';
    this.quote = options.quote ?? 0x22;
    this.escape = options.escape ?? this.quote;
    this.escapeDiffers = this.escape !== this.quote;
  }

  /** True when the bytes so far end inside a quoted field (the last record is not complete). */
  get insideQuotes(): boolean {
    return this.inQuotes;
  }

  /**
   * Scans buf. For each record that ends in it, pushes the offset just after its '\n' to `ends`, and
   * the count of lines completed by then to `endLines`.
   */
  scan(buf: Buffer, ends: number[], endLines: number[]): void {
    const n = buf.length;
    let pos = 0;
    if (this.pendingEscape && n > 0) {
      this.pendingEscape = false;
      if (buf[0] === NL) this.lines++;
      pos = 1;
    }
    let nl = buf.indexOf(NL, pos);
    if (!this.csv) {
      while (nl !== -1) {
        this.lines++;
        ends.push(nl + 1);
        endLines.push(this.lines);
        nl = buf.indexOf(NL, nl + 1);
      }
      return;
    }
    const { quote, escape: esc, escapeDiffers } = this;
    // Cached next positions of each byte; recomputed only once passed, so each byte is found once.
    let q = buf.indexOf(quote, pos);
    let e = escapeDiffers ? buf.indexOf(esc, pos) : -1;
    for (;;) {
      if (q !== -1 && q < pos) q = buf.indexOf(quote, pos);
      if (nl !== -1 && nl < pos) nl = buf.indexOf(NL, pos);
      if (!this.inQuotes) {
        if (nl !== -1 && (q === -1 || nl < q)) {
          this.lines++;
          pos = nl + 1;
          ends.push(pos);
          endLines.push(this.lines);
          continue;
        }
        if (q === -1) return;
        this.inQuotes = true;
        pos = q + 1;
        continue;
      }
      if (escapeDiffers && e !== -1 && e < pos) e = buf.indexOf(esc, pos);
      const isEscape = escapeDiffers && e !== -1 && (q === -1 || e < q);
      const stop = isEscape ? e : q;
      // Newlines inside quotes are physical lines, not record ends.
      const to = stop === -1 ? n : stop;
      while (nl !== -1 && nl < to) {
        this.lines++;
        nl = buf.indexOf(NL, nl + 1);
      }
      if (stop === -1) return;
      if (isEscape) {
        if (e + 1 >= n) {
          this.pendingEscape = true;
          return;
        }
        if (buf[e + 1] === NL) {
          this.lines++;
          nl = buf.indexOf(NL, e + 2);
        }
        pos = e + 2;
        continue;
      }
      this.inQuotes = false;
      pos = q + 1;
    }
  }
}
