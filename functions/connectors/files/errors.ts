/** A source cannot be read as configured: nothing matches, a header is unusable, a file is corrupt. */
export class SourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SourceError';
  }
}
