/**
 * The observer of a timeline run (`ip netns exec phx<k>-net node incident-watch-main.js BASE_URL
 * OUT.jsonl INTERVAL_MS PATH…`): the lab's addresses are reachable only from inside its
 * namespaces, so this small process asks the observatory's API from the internet side, every
 * INTERVAL_MS, and appends each answer to OUT.jsonl as `{"t": epoch ms, "path", "status", "body"}`
 * (or `"error"`). The runner reads the file when the run is over.
 */
import { appendFileSync } from 'node:fs';

const REQUEST_TIMEOUT_MS = 3000;

async function poll(base: string, path: string): Promise<Record<string, unknown>> {
  const t = Date.now();
  try {
    const response = await fetch(new URL(path, base), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await response.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    return {
      t,
      path,
      status: response.status,
      body,
      ...(body === null ? { error: `not JSON: ${text.slice(0, 200)}` } : {}),
    };
  } catch (error) {
    return { t, path, status: null, error: error instanceof Error ? error.message : String(error) };
  }
}

async function main(): Promise<void> {
  const [base, out, every, ...paths] = process.argv.slice(2);
  const intervalMs = Number(every);
  if (!base || !out || !(intervalMs > 0) || paths.length === 0)
    throw new Error('usage: incident-watch-main.js BASE_URL OUT.jsonl INTERVAL_MS PATH...');
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
  });
  while (!stopping) {
    const started = Date.now();
    const answers = await Promise.all(paths.map((p) => poll(base, p)));
    appendFileSync(out, answers.map((a) => `${JSON.stringify(a)}\n`).join(''));
    const wait = intervalMs - (Date.now() - started);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`incident watch failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
