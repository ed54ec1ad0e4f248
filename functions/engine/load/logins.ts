// Database LOGIN roles for the runtime groups (loader, reader, auditor), with passwords sent only as SCRAM verifiers.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Warehouse } from '../ports/warehouse.js';
import { roleNames } from './migrations.js';

/** Which runtime group a login joins (migration 3 created the groups and their grants). */
export type LoginGroup = 'loader' | 'reader' | 'auditor';

export interface LoginSpec {
  group: LoginGroup;
  /** The login's name, e.g. `sluice_loader_login`. */
  username: string;
  /** Its password (from its own secret); never sent to the database in clear. */
  password: string;
}

const LOGIN_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export class LoginConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoginConfigError';
  }
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677, the format of
 * `pg_authid.rolpassword`). `ALTER ROLE … PASSWORD '<verifier>'` sets the password without the clear
 * text ever reaching the server, so `log_statement = ddl` (set on the cluster) logs no password.
 */
export function scramSha256Verifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Creates each login (or updates its password) as a member of its runtime group, with no other
 * attribute: no superuser, no CREATEDB, no CREATEROLE, and membership in its group only. Idempotent;
 * run by the migration custom resource as the admin on every internal-schema deploy, so a login always
 * has its secret's current password (rotation changes both afterwards).
 */
export async function ensureLogins(wh: Warehouse, logins: readonly LoginSpec[]): Promise<string[]> {
  const groups = roleNames();
  const done: string[] = [];
  for (const login of logins) {
    if (!LOGIN_NAME.test(login.username)) {
      throw new LoginConfigError(
        `login name "${login.username}" must be a lower-case PostgreSQL identifier (a-z, 0-9, _; at most 63)`,
      );
    }
    if (login.password.length < 16) {
      throw new LoginConfigError(`the password of login "${login.username}" is shorter than 16 characters`);
    }
    const group = groups[login.group];
    const verifier = scramSha256Verifier(login.password);
    await wh.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('sluice.logins'))`);
      const { rows } = await tx.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [login.username]);
      const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD '${verifier}'`;
      await tx.query(
        rows.length === 0
          ? `CREATE ROLE ${login.username} ${attributes}`
          : `ALTER ROLE ${login.username} ${attributes}`,
      );
      await tx.query(`GRANT ${group} TO ${login.username}`);
    });
    done.push(login.username);
  }
  return done;
}
