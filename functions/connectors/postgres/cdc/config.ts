// `source.config.cdc` of the postgres connector: the slot, the publication and the size of a change chunk.
import * as z from 'zod';

/** A replication slot's or publication's name: PostgreSQL allows lower-case letters, digits and `_`. */
const slotName = z
  .string()
  .regex(
    /^[a-z0-9_]{1,63}$/,
    'must be 1-63 lower-case letters, digits or underscores (a replication slot name)',
  );

/**
 * Change data capture by logical replication (pgoutput). The first run loads the table in key-range
 * chunks consistent with the slot; every later run reads the changes since the last one.
 */
export const cdcConfigSchema = z.strictObject({
  /** The logical replication slot. @default `sluice_<pipeline>` (non-alphanumerics as `_`) */
  slot: slotName.optional(),
  /** The publication (for the one table). @default the slot's name */
  publication: slotName.optional(),
  /** A change chunk ends at the first transaction boundary after this many changes. @default 50000 */
  maxChangesPerChunk: z.number().int().min(1).max(10_000_000).default(50_000),
  /** …or after this many bytes of change messages. @default 64 MiB */
  maxBytesPerChunk: z
    .number()
    .int()
    .min(1024)
    .max(8 * 1024 ** 3)
    .default(64 * 1024 ** 2),
  /**
   * The AWS slot-lag alarm's threshold (lib/ reads it for the pipeline's monitoring): bytes, or a size
   * such as `1GiB` or `500MB`. @default 1 GiB
   */
  maxLagBytes: z
    .union([
      z.number().int().positive(),
      z
        .string()
        .regex(/^\s*\d+(?:\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB)\s*$/i, 'must be a size such as 1GiB or 500MB'),
    ])
    .optional(),
});

export type CdcConfig = z.infer<typeof cdcConfigSchema>;

/** The slot and publication a pipeline's CDC uses: the configured names, else derived from the pipeline. */
export function cdcNames(
  cdc: CdcConfig,
  pipeline: string | undefined,
): { slot: string; publication: string } {
  const slot =
    cdc.slot ??
    (pipeline === undefined
      ? undefined
      : `sluice_${pipeline
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '_')
          .replace(/^_|_$/g, '')}`.slice(0, 63));
  if (slot === undefined)
    throw new Error('source.config.cdc: name the slot (cdc.slot) when the pipeline name is not known');
  return { slot, publication: cdc.publication ?? slot };
}
