/**
 * Concurrent probe clients posting their batches over keep-alive HTTP, each one request at a
 * time (as a probe's uploader does), recording when each acknowledgement came and how long it took.
 */
import { Agent, request } from 'node:http';

export interface Ack {
  /** When the answer was complete (performance.now()). */
  at: number;
  latencyMs: number;
  status: number;
  accepted: number;
  duplicates: number;
}

export interface LoadOptions {
  url: URL;
  /** Per probe, the bodies to post in order. */
  batches: Buffer[][];
  gzip: boolean;
  /** Stop starting new requests at this time (performance.now()). */
  until: number;
}

export async function runLoad(options: LoadOptions): Promise<Ack[]> {
  const acks: Ack[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: options.batches.length });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.gzip) headers['content-encoding'] = 'gzip';
  const client = async (bodies: Buffer[]) => {
    for (const body of bodies) {
      if (performance.now() >= options.until) return;
      const started = performance.now();
      const { status, text } = await post(options.url, body, headers, agent);
      const at = performance.now();
      let accepted = 0;
      let duplicates = 0;
      if (status === 200) {
        const results = (JSON.parse(text) as { results: { duplicate: boolean }[] }).results;
        accepted = results.length;
        duplicates = results.filter((r) => r.duplicate).length;
      }
      acks.push({ at, latencyMs: at - started, status, accepted, duplicates });
      if (status !== 200 && status !== 429 && status !== 503) {
        throw new Error(`the server answered ${status}: ${text.slice(0, 300)}`);
      }
    }
  };
  await Promise.all(options.batches.map(client));
  agent.destroy();
  return acks;
}

function post(
  url: URL,
  body: Buffer,
  headers: Record<string, string>,
  agent: Agent,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
