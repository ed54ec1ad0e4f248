// Runs s3rver in its own Node process, started by the S3 storage integration test.
// Why a process: s3rver's ListObjectsV2 continuation tokens use DES, which OpenSSL 3 only offers with
// --openssl-legacy-provider, a flag that must be given when Node starts (not to the test worker).
// Usage: node --openssl-legacy-provider s3rver-process.mjs <directory> <bucket>
// Prints one JSON line {"port": n} once it listens on a free port of 127.0.0.1; stops on SIGTERM.
import S3rver from 's3rver';

const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});
const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
process.on('SIGTERM', () => {
  server.close().finally(() => process.exit(0));
});
