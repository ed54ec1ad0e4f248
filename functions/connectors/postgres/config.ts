// The postgres source's config: the database sources' fields, and change data capture (cdc/config.ts).
import type * as z from 'zod';
import { oneOfTableAndQuery, sqlSourceFields } from '../sql-common/config.js';
import { cdcConfigSchema } from './cdc/config.js';

export const postgresSourceConfig = sqlSourceFields(5432)
  .extend({
    /** Change data capture by logical replication instead of a cursor (cdc/config.ts). */
    cdc: cdcConfigSchema.optional(),
  })
  .refine(oneOfTableAndQuery.check, { message: oneOfTableAndQuery.message, path: oneOfTableAndQuery.path })
  .refine((c) => !(c.cdc && c.cursor), {
    message:
      'cdc and cursor exclude each other: CDC reads every change since the last run, remove cursor (or cdc)',
    path: ['cdc'],
  })
  .refine((c) => !(c.cdc && c.query), {
    message: 'cdc replicates one table: name it with table, not query',
    path: ['cdc'],
  });
export type PostgresSourceConfig = z.infer<typeof postgresSourceConfig>;
