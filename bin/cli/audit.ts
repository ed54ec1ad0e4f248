// `sluice audit verify|log`: the hash-chained audit trail, read from the selected database.
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { AuditVerification } from '../../functions/engine/audit/log.js';
import type { AuditAnchor } from '../../functions/engine/ports/index.js';
import { withDatabase } from './database.js';
import { databaseOption, homeOption } from './options.js';

const readDatabaseOption = () => databaseOption('the PostgreSQL to read');

async function s3Anchor(location: string): Promise<AuditAnchor> {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(location);
  if (!match) throw new InvalidArgumentError(`--anchor-s3 must be s3://bucket/prefix/, got ${location}`);
  const [{ S3ObjectLockAuditAnchor }, { createS3Client }] = await Promise.all([
    import('../../functions/adapters/audit-anchor/s3-object-lock.js'),
    import('../../functions/adapters/storage/s3.js'),
  ]);
  return new S3ObjectLockAuditAnchor({ client: createS3Client(), bucket: match[1]!, prefix: match[2]! });
}

async function localAnchor(home: string): Promise<AuditAnchor> {
  const { localAuditAnchor } = await import('../../functions/local/environment.js');
  return localAuditAnchor(home);
}

interface VerifyOpts {
  json?: boolean;
  anchorS3?: string;
  home: string;
  databaseUrl?: string;
  stage?: string;
}

/**
 * The chain of the selected database checked against its anchor: `--stage` reads a deployed stage's
 * audit log as the auditor login over the RDS Data API and its anchor bucket (both from the stack's
 * outputs); otherwise the local (or --database-url) database and <home>/audit-anchor/ or --anchor-s3.
 */
async function verify(opts: VerifyOpts): Promise<AuditVerification> {
  const { verifyAuditChain } = await import('../../functions/engine/audit/log.js');
  if (opts.stage) {
    const { openStageAudit } = await import('./stage-ledger.js');
    const stage = await openStageAudit(opts.stage);
    process.stderr.write(`${stage.description}\n`);
    return verifyAuditChain(stage.db, { anchor: stage.anchor });
  }
  const anchor = opts.anchorS3 ? await s3Anchor(opts.anchorS3) : await localAnchor(opts.home);
  return withDatabase(opts, (wh) => verifyAuditChain(wh, { anchor }));
}

/**
 * `sluice audit verify` (recompute the hash chain; exit 1 on any tampered record) and `sluice audit log`.
 *
 * @example registerAuditCommand(program);  // in bin/sluice.ts
 */
export function registerAuditCommand(program: Command): Command {
  const audit = program.command('audit').description('the append-only, hash-chained audit trail');
  audit
    .command('verify')
    .description(
      'recompute the audit hash chain and check it against the anchored head; report every record that was changed, removed or reordered',
    )
    .option('--json', 'print the verification as JSON')
    .option(
      '--anchor-s3 <s3://bucket/prefix/>',
      "check against the heads anchored in this S3 bucket (a deployed stage's SLUICE_AUDIT_ANCHOR_BUCKET) instead of <home>/audit-anchor/",
    )
    .addOption(
      new Option(
        '--stage <stage>',
        "verify this deployed AWS stage's audit log (RDS Data API, auditor login) against its AuditAnchorBucketName",
      ).conflicts(['anchorS3', 'databaseUrl']),
    )
    .addOption(homeOption())
    .addOption(readDatabaseOption())
    .action(async (opts: VerifyOpts) => {
      const result = await verify(opts);
      if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        for (const p of result.problems) process.stdout.write(`record ${p.seq}: ${p.problem}\n`);
        for (const w of result.warnings) process.stdout.write(`warning: ${w}\n`);
        if (result.ok) {
          const anchored = result.anchor ? `, anchored up to record ${result.anchor.seq}` : '';
          process.stdout.write(
            `audit chain ok: ${result.records} record(s), head ${result.head}${anchored}\n`,
          );
        } else {
          process.stdout.write(
            `audit chain BROKEN: ${result.problems.length} problem(s) in ${result.records} record(s)\n`,
          );
        }
      }
      if (!result.ok) process.exitCode = 1;
    });
  audit
    .command('log')
    .description('print audit records, oldest first')
    .option('--run <id>', 'only this run')
    .option('--pipeline <name>', 'only this pipeline')
    .addOption(homeOption())
    .addOption(readDatabaseOption())
    .action(async (opts: { run?: string; pipeline?: string; home: string; databaseUrl?: string }) => {
      const { readAuditLog } = await import('../../functions/engine/audit/log.js');
      const records = await withDatabase(opts, (wh) =>
        readAuditLog(wh, {
          ...(opts.run ? { runId: opts.run } : {}),
          ...(opts.pipeline ? { pipeline: opts.pipeline } : {}),
        }),
      );
      for (const r of records) {
        process.stdout.write(
          `${String(r.seq).padStart(6)}  ${r.at}  ${r.kind.padEnd(18)}  ${(r.pipeline ?? '-').padEnd(16)}  ${r.runId ?? '-'}  ${r.actor}  ${r.detail}\n`,
        );
      }
      if (records.length === 0) process.stdout.write('no audit records\n');
    });
  return audit;
}
