import * as z from 'zod';

/**
 * Environment of every handler and of the Fargate worker, parsed once at cold start. The CDK
 * constructs set exactly these; the local runner passes the same values as explicit dependencies.
 */
export const handlerEnvSchema = z
  .object({
    /** S3 bucket for staging (AWS). */
    SLUICE_STAGING_BUCKET: z.string().min(3).optional(),
    /** Folder for staging (local runs, tests). */
    SLUICE_STAGING_DIR: z.string().min(1).optional(),
    /** Secrets Manager secret with {host, port, username, password, dbname} (Aurora admin or loader). */
    SLUICE_DATABASE_SECRET_ARN: z.string().startsWith('arn:').optional(),
    /** Host to connect to instead of the secret's host: the RDS Proxy endpoint. */
    SLUICE_DATABASE_HOST: z.string().min(1).optional(),
    /** More folders a local `location` may point into, beyond its spec's folder (local runs; see README). */
    SLUICE_ALLOWED_ROOTS: z.string().optional(),
    /** postgres:// URL (local runs, tests). */
    DATABASE_URL: z.string().startsWith('postgres').optional(),
    /** Prefix of pipeline credential secrets in Secrets Manager, e.g. `sluice/dev/`. */
    SLUICE_SECRET_PREFIX: z.string().default('sluice/'),
    /** EventBridge bus for RunSucceeded / RunFailed (default bus when unset). */
    SLUICE_EVENT_BUS_NAME: z.string().optional(),
    /** State machine that the S3 starter function starts. */
    SLUICE_STATE_MACHINE_ARN: z.string().startsWith('arn:').optional(),
    /** S3 bucket (Object Lock) where commit and fail anchor the audit chain's head (AWS). */
    SLUICE_AUDIT_ANCHOR_BUCKET: z.string().min(3).optional(),
    /** Object Lock mode of each anchored head (the adapter's default: COMPLIANCE). */
    SLUICE_AUDIT_ANCHOR_MODE: z.enum(['COMPLIANCE', 'GOVERNANCE']).optional(),
    /** Days each anchored head is locked (the adapter's default: 2557, 7 years). */
    SLUICE_AUDIT_ANCHOR_RETENTION_DAYS: z.coerce.number().int().positive().optional(),
    POWERTOOLS_SERVICE_NAME: z.string().default('sluice'),
  })
  .refine((e) => e.SLUICE_STAGING_BUCKET || e.SLUICE_STAGING_DIR, {
    message: 'set SLUICE_STAGING_BUCKET (AWS) or SLUICE_STAGING_DIR (local) to say where staging lives',
    path: ['SLUICE_STAGING_BUCKET'],
  })
  .refine((e) => e.SLUICE_DATABASE_SECRET_ARN || e.DATABASE_URL, {
    message: 'set SLUICE_DATABASE_SECRET_ARN (AWS) or DATABASE_URL (local) to say which database to load',
    path: ['SLUICE_DATABASE_SECRET_ARN'],
  });

export type HandlerEnv = z.infer<typeof handlerEnvSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; the error lists each variable that is missing or wrong, and what was found. */
export function parseHandlerEnv(env: NodeJS.ProcessEnv = process.env): HandlerEnv {
  const result = handlerEnvSchema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => {
    const name = String(i.path[0] ?? '');
    // Never echo a value that may hold a credential (a postgres:// URL with its password).
    const found =
      name && env[name] !== undefined
        ? /URL|SECRET|PASSWORD|TOKEN|KEY/.test(name)
          ? ' (found a value, not shown)'
          : ` (found "${env[name]}")`
        : '';
    return `${name}: ${i.message}${found}`;
  });
  throw new ConfigError(`invalid handler environment:\n  ${lines.join('\n  ')}`);
}
