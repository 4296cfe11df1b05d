/**
 * The evidence log over HTTP, as a Fastify plugin the server registers (`evidenceRoutes(store)`):
 * the C2SP tlog-tiles endpoints under /log, and under /api/v1 the stored measurements and records
 * (incident changes), their offline proofs and inclusion/consistency proofs. Every malformed parameter is a 400 naming it;
 * anything the published log does not (yet) have is a 404.
 */
import { parseTilePath, toBase64 } from '@pharos/core';
import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { EvidenceRangeError, type EvidenceStore, EvidenceUnavailableError } from './types.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const ID = /^[0-9a-f]{64}$/;

const count = z
  .string({ error: 'must be given once, as a decimal number' })
  .regex(/^(0|[1-9][0-9]{0,15})$/, 'must be a non-negative decimal integer')
  .transform(Number)
  .refine(Number.isSafeInteger, 'is too large');

const inclusionQuery = z.strictObject({ index: count, size: count.optional() });
const consistencyQuery = z.strictObject({
  from: count,
  to: count.optional(),
  format: z.enum(['json', 'text'], { error: 'must be json or text' }).optional(),
});

class BadRequest extends Error {}

function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = issue.path.join('.');
  if (issue.code === 'unrecognized_keys')
    throw new BadRequest(`unknown query parameter ${issue.keys.join(', ')}`);
  throw new BadRequest(name ? `query parameter ${name} ${issue.message}` : issue.message);
}

function checkId(id: string): void {
  if (!ID.test(id))
    throw new BadRequest('a measurement id is 64 lower-case hex digits (the SHA-256 of its canonical JSON)');
}

function parseLogIndex(text: string): number {
  const parsed = count.safeParse(text);
  if (!parsed.success) throw new BadRequest(`a log index is a non-negative decimal integer, got "${text}"`);
  return parsed.data;
}

function base64All(hashes: Uint8Array[]): string[] {
  return hashes.map(toBase64);
}

export function evidenceRoutes(store: EvidenceStore): FastifyPluginAsync {
  return async (app) => {
    app.setErrorHandler((error: FastifyError, request, reply: FastifyReply) => {
      if (error instanceof BadRequest || error instanceof EvidenceRangeError) {
        return reply.code(400).send({ error: error.message });
      }
      if (error instanceof EvidenceUnavailableError) {
        return reply.code(503).header('retry-after', '1').send({ error: error.message });
      }
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        return reply.code(error.statusCode).send({ error: error.message });
      }
      request.log.error({ err: error }, 'evidence request failed');
      return reply.code(500).send({ error: 'internal error while reading the evidence log' });
    });

    app.get('/log/checkpoint', async (_request, reply) =>
      reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(store.checkpoint()),
    );

    app.get('/log/vkey', async (_request, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'public, max-age=3600')
        .send(`${store.vkey}\n`),
    );

    app.get('/log/tile/*', async (request, reply) => {
      const rest = (request.params as Record<string, string>)['*'] ?? '';
      const tile = parseTilePath(`tile/${rest}`);
      if (!tile) {
        throw new BadRequest(
          'not a tile path: expected /log/tile/<L>/<N>[.p/<W>] or /log/tile/entries/<N>[.p/<W>], N in 3-digit groups (x001/234), W in 1..255',
        );
      }
      const data =
        tile.kind === 'entries'
          ? await store.entryBundle(tile.index, tile.width)
          : await store.tile(tile.level, tile.index, tile.width);
      if (!data) {
        return reply.code(404).send({
          error: `no such ${tile.kind === 'entries' ? 'entry bundle' : 'tile'} in the published log (size ${store.treeSize()})`,
        });
      }
      // Tiles never change: a partial one of width W is the same bytes forever, like a full one.
      return reply
        .type('application/octet-stream')
        .header('cache-control', IMMUTABLE)
        .send(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    });

    app.get('/api/v1/measurements/:id', async (request, reply) => {
      const { id } = request.params as { id: string };
      checkId(id);
      const m = await store.getMeasurement(id);
      if (!m) return reply.code(404).send({ error: `no measurement with id ${id}` });
      return reply.header('cache-control', 'no-cache').send(m);
    });

    app.get('/api/v1/measurements/:id/proof', async (request, reply) => {
      const { id } = request.params as { id: string };
      checkId(id);
      const proof = await store.tlogProof(id);
      if (!proof) return reply.code(404).send({ error: `no measurement with id ${id}` });
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(proof);
    });

    app.get('/api/v1/records/:log_index', async (request, reply) => {
      const logIndex = parseLogIndex((request.params as { log_index: string }).log_index);
      const r = await store.getRecord(logIndex);
      if (!r) return reply.code(404).send({ error: `no record at log index ${logIndex}` });
      return reply.header('cache-control', 'no-cache').send(r);
    });

    app.get('/api/v1/records/:log_index/proof', async (request, reply) => {
      const logIndex = parseLogIndex((request.params as { log_index: string }).log_index);
      const proof = await store.recordProof(logIndex);
      if (!proof) return reply.code(404).send({ error: `no record at log index ${logIndex}` });
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(proof);
    });

    app.get('/api/v1/log/proof/inclusion', async (request, reply) => {
      const q = parseQuery(inclusionQuery, request.query);
      const size = q.size ?? store.treeSize();
      const hashes = await store.inclusionProof(q.index, size);
      return reply.send({ index: q.index, tree_size: size, hashes: base64All(hashes) });
    });

    app.get('/api/v1/log/proof/consistency', async (request, reply) => {
      const q = parseQuery(consistencyQuery, request.query);
      const to = q.to ?? store.treeSize();
      const hashes = await store.consistencyProof(q.from, to);
      if (q.format === 'text') {
        return reply.type('text/plain; charset=utf-8').send(
          base64All(hashes)
            .map((h) => `${h}\n`)
            .join(''),
        );
      }
      return reply.send({ from: q.from, to, hashes: base64All(hashes) });
    });
  };
}
