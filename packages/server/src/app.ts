/**
 * The observatory server as one Fastify app: the collector (POST /api/v1/measurements), the
 * evidence log and measurement routes (/log/..., from ../evidence), and the test helper (POST /,
 * OONI's protocol), over one evidence store in a data directory.
 *
 * Two promises hold everywhere in it: a client address is never logged or stored (the request
 * serializer has no address, the proxy headers are ignored, and only the collector reads the
 * address, for its in-memory derivation); and a slow client cannot hold the server (timeouts on
 * headers, whole requests and idle sockets, checked every second).
 */
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import {
  type CollectorOptions,
  collectorRoutes,
  LazyIPLocator,
  type MeasurementSink,
  type NetworkOrigin,
} from './collector/index.js';
import { type DetectionService, openDetection } from './detection/service.js';
import { evidenceRoutes, openEvidenceStore } from './evidence/index.js';
import { type EvidenceStore, envelopeOf } from './evidence/types.js';
import { addressFreeLogger, type LoggerSetting } from './log-options.js';
import { type TestHelperOptions, testHelperRoutes } from './test-helper/index.js';

/** The evidence store as the app uses it. */
export interface AppStore extends MeasurementSink {
  close(): Promise<void>;
  /** Present on the evidence store: detection logs incident changes through it. */
  appendRecord?: EvidenceStore['appendRecord'];
}

export interface DetectionServerOptions {
  /** How often probes beacon, seconds (default 60): the step of silence and measurement signals. */
  beaconInterval?: number;
  /** Step of the measurement signals, seconds (default 600). */
  measurementStep?: number;
  /** Seconds between detection passes (default: the beacon interval); null for none. */
  every?: number | null;
  /** Detector overrides, as in docs/detection.md. */
  config?: unknown;
  /** How far back each pass reads, seconds (default 8 days). */
  lookback?: number;
  /** The detection clock in epoch milliseconds (tests replay time with it). */
  now?: () => number;
}

/**
 * Opens the store of a data directory and gives its routes; the default is ../evidence (DuckDB and
 * the Merkle log). Tests pass an in-memory one.
 */
export type StoreOpener = (options: {
  dataDir: string;
  origin?: string;
  lateAfterMs?: number;
  logger: FastifyInstance['log'];
}) => Promise<{ store: AppStore; routes: FastifyPluginAsync }>;

export interface ServerTimeouts {
  /** Until a request's headers are in. Default 20 s. */
  headers?: number;
  /** Until a whole request, body included, is in. Default 120 s (16 MiB on a slow mobile link). */
  request?: number;
  /** A socket with no traffic at all is closed. Default 30 s. */
  idle?: number;
  /** Keep-alive between requests. Default 10 s. */
  keepAlive?: number;
}

export interface ServerOptions {
  /** Where the evidence store keeps its database, log and keys. */
  dataDir: string;
  /** Address and port for `listen()`; default 127.0.0.1 and 0 (any free port). */
  host?: string;
  port?: number;
  /** The log's origin line (its name in checkpoints); the store's default otherwise. */
  origin?: string;
  /** After how long past its end a measurement counts as late; the store's default otherwise. */
  lateAfterMs?: number;
  /** Serve HTTPS with this PEM key and certificate. */
  https?: { key: string; cert: string };
  /**
   * false for no logs, true for info-level JSON on stdout, or pino options (a `stream` to capture
   * them). Whatever is given, requests are logged without the client address.
   */
  logger?: LoggerSetting;
  testHelper?: Omit<TestHelperOptions, 'https' | 'logger'>;
  collector?: Partial<CollectorOptions>;
  timeouts?: ServerTimeouts;
  /** Where client addresses are looked up (tests); default the ip-location-db datasets. */
  locator?: { lookup(ip: string): Promise<NetworkOrigin> | NetworkOrigin };
  /** How to open the store (tests); default openEvidenceStore of ../evidence. */
  openStore?: StoreOpener;
  /**
   * Detection (beacons, signals, incidents) over DATA_DIR/signals.duckdb; false for none. Needs a
   * store that logs records (the evidence store); with another store it is off.
   */
  detection?: DetectionServerOptions | false;
}

export interface PharosServer {
  app: FastifyInstance;
  store: AppStore;
  /** Beacons, signals, the detection engine and incidents; null when detection is off. */
  detection: DetectionService | null;
  /** Starts listening on the configured host and port; resolves to the base URL. */
  listen(): Promise<string>;
  /**
   * Stops accepting connections, lets requests in flight finish (their appends included), then
   * closes the store. Safe to call more than once.
   */
  close(): Promise<void>;
}

/** The whole server, ready for `listen()` or `app.inject()`. */
export async function createServer(options: ServerOptions): Promise<PharosServer> {
  const timeouts = {
    headers: options.timeouts?.headers ?? 20_000,
    request: options.timeouts?.request ?? 120_000,
    idle: options.timeouts?.idle ?? 30_000,
    keepAlive: options.timeouts?.keepAlive ?? 10_000,
  };
  // Node checks request and header timeouts on this interval (30 s by default, too coarse).
  const nodeServerOptions = {
    headersTimeout: timeouts.headers,
    connectionsCheckingInterval: Math.min(1000, timeouts.headers, timeouts.request),
  };
  const app = Fastify({
    logger: addressFreeLogger(options.logger),
    // Behind a proxy the address would come from X-Forwarded-For: never read it, never trust it.
    trustProxy: false,
    requestTimeout: timeouts.request,
    connectionTimeout: timeouts.idle,
    keepAliveTimeout: timeouts.keepAlive,
    ...(options.https
      ? { https: { key: options.https.key, cert: options.https.cert, ...nodeServerOptions } }
      : { http: nodeServerOptions }),
  }) as unknown as FastifyInstance;

  let opened: Awaited<ReturnType<StoreOpener>>;
  try {
    opened = await (options.openStore ?? openEvidence)({
      dataDir: options.dataDir,
      origin: options.origin,
      lateAfterMs: options.lateAfterMs,
      logger: app.log,
    });
  } catch (err) {
    await app.close();
    throw err;
  }
  const { store } = opened;
  // One locator for the collector and the beacons: the IP datasets are loaded once.
  const locator =
    options.locator ??
    new LazyIPLocator(undefined, ({ ms, error }) => {
      if (error) app.log.warn({ err: error }, 'IP datasets could not be loaded: networks derive as unknown');
      else app.log.info({ ms: Math.round(ms) }, 'IP datasets loaded');
    });

  let detection: DetectionService | null = null;
  if (options.detection !== false && store.appendRecord) {
    try {
      detection = await openDetection({
        dataDir: options.dataDir,
        log: { appendRecord: store.appendRecord.bind(store) },
        locator,
        beaconInterval: options.detection?.beaconInterval ?? 60,
        measurementStep: options.detection?.measurementStep,
        every:
          options.detection?.every === undefined
            ? (options.detection?.beaconInterval ?? 60)
            : options.detection.every,
        config: options.detection?.config,
        lookback: options.detection?.lookback,
        logger: app.log,
        now: options.detection?.now,
      });
    } catch (err) {
      await store.close();
      await app.close();
      throw err;
    }
  }
  const sink = detection ? recordingOutcomes(store, detection) : store;

  let shuttingDown = false;
  // While stopping, each answer closes its connection, so a keep-alive client does not hold the
  // stop up until its idle timeout.
  app.addHook('onSend', async (_request, reply) => {
    if (shuttingDown) reply.header('connection', 'close');
  });

  try {
    await app.register(collectorRoutes({ store: sink, options: options.collector, locator }));
    await app.register(opened.routes);
    if (detection) await app.register(detection.routes);
    await app.register(testHelperRoutes(options.testHelper));
    await app.ready();
  } catch (err) {
    await app.close().catch(() => {});
    await detection?.close();
    await store.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    app,
    store,
    detection,
    async listen() {
      await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
      return baseURL(app, options.https !== undefined);
    },
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        try {
          // Fastify stops accepting, answers 503 to new requests on open connections, and
          // resolves once the requests in flight have been answered.
          await app.close();
        } finally {
          // Detection first: a pass in progress may still log incident changes in the store.
          await detection?.close();
          await store.close();
        }
      })();
      return closing;
    },
  };
}

/**
 * The store as the collector sees it, recording the outcome of each newly accepted measurement for
 * the signals once it is durably stored. Recording is derived data (rebuildable from the store), so
 * it never delays or fails an acknowledgement; a failure is logged.
 */
function recordingOutcomes(store: AppStore, detection: DetectionService): MeasurementSink {
  return {
    async append(batch) {
      const results = await store.append(batch);
      const accepted = batch.flatMap((m, i) => {
        const result = results[i];
        if (!result || result.duplicate) return [];
        return [
          {
            id: m.id,
            log_index: result.log_index,
            measurement: envelopeOf(m),
            testKeyScalars: m.testKeyScalars,
            derivedCC: m.network.derivedCC,
            derivedASN: m.network.derivedASN,
          },
        ];
      });
      if (accepted.length > 0) detection.recordAccepted(accepted);
      return results;
    },
  };
}

/** The URL of the bound address (port 0 means the kernel chose one). */
export function baseURL(app: FastifyInstance, https: boolean): string {
  const address = app.server.address();
  if (address === null || typeof address === 'string') return String(address);
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return `${https ? 'https' : 'http'}://${host}:${address.port}/`;
}

const openEvidence: StoreOpener = async (options) => {
  const store = await openEvidenceStore(options);
  return { store, routes: evidenceRoutes(store) };
};
