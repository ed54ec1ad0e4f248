// `sluice ui`: the command's options; the server is imported only when it runs (keeps `--help` fast).
import type { Command } from 'commander';
import { databaseOption, homeOption, portNumber } from '../options.js';

export function registerUiCommand(program: Command) {
  program
    .command('ui')
    .description(
      'open the read-only local web console (pipelines, run history, runs, rejects, partitions) on 127.0.0.1',
    )
    .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', portNumber, 7780)
    .option('--open', 'also open the console in the default browser')
    .option('--stage <stage>', "read this deployed AWS stage's ledger (RDS Data API, reader login) instead")
    .addOption(homeOption())
    .addOption(databaseOption('read this PostgreSQL'))
    .action(
      async (opts: { port: number; open?: boolean; stage?: string; home: string; databaseUrl?: string }) => {
        const { startConsole } = await import('./start.js');
        const running = await startConsole({
          home: opts.home,
          port: opts.port,
          ...(opts.open ? { open: true } : {}),
          ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
          ...(opts.stage ? { stage: opts.stage } : {}),
        });
        process.stdout.write(`sluice ui: ${running.url} (read-only; Ctrl-C stops it)\n`);
        process.stderr.write(`${running.reading}\n`);
        const stop = () => {
          void running.close().finally(() => process.exit(0));
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      },
    );
}
