/**
 * The server the ingest benchmark measures when given --memory-store: the whole app (HTTP,
 * collector, test helper) over an in-memory store, to tell the collector's cost from the store's.
 * Prints "listening on URL" like `pharos serve`.
 */
import { createServer } from '../app.js';
import { MemorySink } from '../collector/index.js';

const sink = Object.assign(new MemorySink(), { close: async () => {} });
const server = await createServer({
  dataDir: '/nonexistent',
  port: 0,
  logger: { level: 'warn', stream: process.stderr },
  openStore: async () => ({ store: sink, routes: async () => {} }),
});
const url = await server.listen();
process.stdout.write(`pharos: listening on ${url}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
