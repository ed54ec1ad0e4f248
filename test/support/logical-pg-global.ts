// Vitest global setup: names this test run as the owner of the logical-WAL PostgreSQL its files may start, and stops it at the end.
import { stopLogicalPostgres } from './logical-pg.js';

/**
 * Test files start the instance lazily (test/support/logical-pg.ts), so a run without CDC tests costs
 * nothing. The forks inherit the owner from the environment; an owner set outside (`.ci/run`) is kept,
 * and then whoever set it stops the instance.
 */
export default function setup(): () => void {
  const inherited = process.env.SLUICE_LOGICAL_PG_OWNER;
  const owner = inherited ?? `vitest-${process.pid}`;
  process.env.SLUICE_LOGICAL_PG_OWNER = owner;
  return () => {
    if (inherited === undefined && stopLogicalPostgres(owner))
      console.log('[logical-pg] stopped the logical-WAL PostgreSQL this test run started');
  };
}
