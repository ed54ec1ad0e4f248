// The files connector's config: where the files are, which ones, and how to read them (its README documents it).
import * as z from 'zod';

const csvOptions = z.strictObject({
  delimiter: z.string().min(1).max(4).default(','),
  quote: z.string().length(1).default('"'),
  escape: z.string().length(1).default('"'),
  header: z.boolean().default(true),
  /** Column names when the file has no header row. */
  columns: z.array(z.string().min(1)).optional(),
  encoding: z.enum(['utf8', 'latin1']).default('utf8'),
});

/** A '..' path segment: meaningless in an S3 key prefix, and a way to climb out of one. */
const hasDotDotSegment = (path: string) => path.split('/').includes('..');

/** `source.config` of a `files` pipeline. */
export const filesSourceConfig = z.strictObject({
  /** A local folder (relative to the spec file) or s3://bucket/prefix. */
  location: z
    .string()
    .min(1)
    .refine((l) => !(l.startsWith('s3://') && hasDotDotSegment(l.slice(5))), {
      message:
        "an s3:// location must not contain '..' segments (S3 prefixes are literal: it would not mean a parent folder)",
    }),
  /** Glob on the object key below location, e.g. `*.csv` or `**\/*.jsonl.gz`. */
  pattern: z.string().min(1).default('**/*'),
  format: z.enum(['csv', 'jsonl', 'json']),
  compression: z.enum(['auto', 'gzip', 'none']).default('auto'),
  csv: csvOptions.default({ delimiter: ',', quote: '"', escape: '"', header: true, encoding: 'utf8' }),
  /**
   * Append mode, a file loaded before whose content changed: one that only grew (the old content is a
   * prefix of the new, e.g. a daily log) always loads just its new records. Any other change (a
   * rewritten, shrunk or gzipped file, an edited last line) is refused, naming the file (`refuse`), or
   * loaded whole again (`reload`: its earlier rows are loaded a second time, which is what you asked).
   * @default refuse
   */
  changedFiles: z.enum(['refuse', 'reload']).default('refuse'),
});
export type FilesSourceConfig = z.infer<typeof filesSourceConfig>;
