// A chunk worker thread of the local runner: TypeScript through tsx, like the CLI (see lambda-pool.ts).
import { register } from 'tsx/esm/api';

register();
await import('./lambda-worker.ts');
