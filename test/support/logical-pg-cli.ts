// `tsx test/support/logical-pg-cli.ts start|stop <owner>`: the logical-WAL test PostgreSQL for .ci/run.
import { logicalPgUrl, startLogicalPostgres, stopLogicalPostgres } from './logical-pg.js';

const [command, owner] = process.argv.slice(2);
if (!owner || (command !== 'start' && command !== 'stop')) {
  console.error('usage: tsx test/support/logical-pg-cli.ts start|stop <owner>');
  process.exit(2);
}
process.env.SLUICE_LOGICAL_PG_OWNER = owner;
if (command === 'start') {
  await startLogicalPostgres();
  console.log(`logical-WAL PostgreSQL ready at ${logicalPgUrl()}`);
} else if (stopLogicalPostgres(owner)) console.log('logical-WAL PostgreSQL stopped and removed');
else console.log('logical-WAL PostgreSQL: not started by this owner, left as it is');
