/**
 * `POST /api/v1/beacons` as a Fastify plugin (docs/probe.md, "Beacons"; docs/detection.md, "Probe
 * beacons and silence"). A beacon is checked (form, key, signature, clock, rate), its network is
 * derived from the connection's address in memory as the collector does, and its arrival and the
 * missed attempts it reports become rows of the `beacons` table. Answered 202 with the server's
 * time, which probes use to keep their sending phase on the server's steps.
 *
 * The address is read once, for the lookup; it is never stored and never logged (logs get a fixed
 * tag, never the client's bytes).
 */
import {
  BeaconFormatError,
  beaconSigningBytes,
  fromBase64,
  MAX_BEACON_BYTES,
  parseBeaconText,
} from '@pharos/core';
import type { FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { NetworkOrigin } from '../collector/geo.js';
import { KeyRateLimiter } from '../collector/rate-limit.js';
import { KeyCache, verifyEd25519 } from '../collector/signature.js';
import type { SignalsDatabase } from '../signals/database.js';
import { appendBeaconRows, type BeaconRow, ensureBeaconsTable, probeHash } from './table.js';

export const BEACONS_PATH = '/api/v1/beacons';
/** A probe clock further than this from ours is refused: its times would misplace the timeline. */
export const MAX_CLOCK_SKEW_SECONDS = 600;

export interface BeaconRouteOptions {
  db: SignalsDatabase;
  /** Where addresses are looked up: share the collector's, so the datasets load once. */
  locator: { lookup(ip: string): Promise<NetworkOrigin> | NetworkOrigin };
  /** The server's clock (tests). */
  now?: () => Date;
  /** Per-key token bucket in beacons. Default: a burst of 10, one more every 10 s. */
  rateLimit?: { perSecond: number; burst: number };
}

export interface BeaconResponse {
  /** The server's time, ISO 8601 UTC. */
  server_time: string;
  /** True when this beacon (its key and seq) was already taken: nothing was stored again. */
  duplicate: boolean;
  /** How many missed attempts were recorded. */
  missed_recorded: number;
}

type RefusalKind = 'json' | 'schema' | 'key' | 'signature' | 'clock' | 'rate-limit' | 'body-size';

class BeaconRefused extends Error {
  constructor(
    readonly status: number,
    readonly kind: RefusalKind,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Remembers the last seq taken per key, so a repeated (or replayed) beacon is stored once. */
class LastSeq {
  private readonly seqs = new Map<string, number>();
  constructor(private readonly capacity = 200_000) {}
  seen(key: string, seq: number): boolean {
    const last = this.seqs.get(key);
    return last !== undefined && seq <= last;
  }
  take(key: string, seq: number): void {
    this.seqs.delete(key);
    this.seqs.set(key, seq);
    if (this.seqs.size > this.capacity) this.seqs.delete(this.seqs.keys().next().value as string);
  }
}

/** The beacon route. Register with `app.register(beaconRoutes({ db, locator }))`. */
export function beaconRoutes(options: BeaconRouteOptions): FastifyPluginAsync {
  const now = options.now ?? (() => new Date());
  const rate = options.rateLimit ?? { perSecond: 0.1, burst: 10 };
  return async (app: FastifyInstance) => {
    await ensureBeaconsTable(options.db);
    const keys = new KeyCache();
    const limiter = new KeyRateLimiter(rate.perSecond, rate.burst);
    const lastSeq = new LastSeq();

    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit: MAX_BEACON_BYTES },
      (_req, body, done) => done(null, body),
    );

    app.setErrorHandler((error: FastifyError | BeaconRefused, request, reply) => {
      if (error instanceof BeaconRefused) {
        request.log.info({ refused: error.kind, status: error.status }, 'beacon refused');
        return reply
          .code(error.status)
          .headers(error.headers)
          .send({ error: error.message, server_time: now().toISOString() });
      }
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        request.log.info({ refused: error.code ?? 'request', status }, 'beacon refused');
        const message =
          error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
            ? `a beacon is at most ${MAX_BEACON_BYTES} bytes`
            : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
              ? 'send the beacon as JSON with Content-Type: application/json'
              : error.message;
        return reply.code(status).send({ error: message });
      }
      request.log.error({ err: error }, 'beacon failed');
      return reply.code(500).send({ error: 'the beacon could not be stored because of a server error' });
    });

    app.post(BEACONS_PATH, async (request, reply): Promise<BeaconResponse> => {
      const received = now();
      const receivedS = Math.floor(received.getTime() / 1000);
      if (typeof request.body !== 'string')
        throw new BeaconRefused(415, 'json', 'send the beacon as JSON with Content-Type: application/json');
      // Started now; answers while the signature is checked.
      const origin = Promise.resolve(options.locator.lookup(request.ip));
      origin.catch(() => {});

      let signed: ReturnType<typeof parseBeaconText>;
      try {
        signed = parseBeaconText(request.body);
      } catch (err) {
        if (err instanceof BeaconFormatError) throw new BeaconRefused(400, 'schema', err.message);
        throw err;
      }
      const { beacon } = signed;
      const rawKey = fromBase64(beacon.probe_key);
      const key = keys.get(beacon.probe_key, rawKey);
      if (typeof key === 'string') throw new BeaconRefused(400, 'key', `beacon.probe_key ${key}`);
      const ok = await verifyEd25519(
        key,
        Buffer.from(beaconSigningBytes(signed.beacon)),
        Buffer.from(fromBase64(signed.signature)),
      );
      if (!ok) {
        throw new BeaconRefused(
          400,
          'signature',
          'signature: does not verify (Ed25519 by beacon.probe_key over the RFC 8785 canonical JSON of beacon)',
        );
      }

      const sentS = Math.floor(Date.parse(beacon.sent_at) / 1000);
      const skew = sentS - receivedS;
      if (Math.abs(skew) > MAX_CLOCK_SKEW_SECONDS) {
        throw new BeaconRefused(
          400,
          'clock',
          `beacon.sent_at is ${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} the server's clock ` +
            `(${received.toISOString()}), more than ${MAX_CLOCK_SKEW_SECONDS} s: set this machine's clock (NTP)`,
        );
      }

      if (lastSeq.seen(beacon.probe_key, beacon.seq)) {
        reply.code(202);
        return { server_time: now().toISOString(), duplicate: true, missed_recorded: 0 };
      }
      const decision = limiter.take(new Map([[beacon.probe_key, 1]]), received.getTime());
      if (!decision.ok) {
        throw new BeaconRefused(
          429,
          'rate-limit',
          `too many beacons from this probe key: retry in ${decision.retryAfterSeconds} s`,
          { 'retry-after': String(decision.retryAfterSeconds) },
        );
      }

      const network = await origin.catch((): NetworkOrigin => ({ cc: null, asn: null }));
      const cc = network.cc ?? (beacon.cc === 'ZZ' ? null : beacon.cc);
      const asn = network.asn ?? (beacon.asn === 0 ? null : beacon.asn);
      // The region is the volunteer's word; kept only when it lies in the country we place them in.
      const region =
        beacon.region && (cc === null || beacon.region.startsWith(`${cc}-`)) ? beacon.region : null;
      const hash = probeHash(rawKey);
      const row = (time: number, heard: boolean): BeaconRow => ({
        probeHash: hash,
        time,
        heard,
        cc,
        asn,
        region,
        received: receivedS,
      });
      // Missed times are on the probe's clock: moved onto ours by the offset this beacon shows.
      const offset = receivedS - sentS;
      const rows: BeaconRow[] = [];
      for (const t of beacon.missed) {
        const time = Math.floor(Date.parse(t) / 1000) + offset;
        if (time < receivedS) rows.push(row(time, false));
      }
      rows.push(row(receivedS, true));
      await appendBeaconRows(options.db, rows);
      lastSeq.take(beacon.probe_key, beacon.seq);
      reply.code(202);
      return { server_time: now().toISOString(), duplicate: false, missed_recorded: rows.length - 1 };
    });
  };
}
