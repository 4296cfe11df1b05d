/**
 * The test keys of the platform and messaging-app experiments (whatsapp, telegram, signal,
 * facebook_messenger, and the platforms tiktok, youtube, instagram, facebook, x). OONI's keys keep
 * OONI's names and meanings (ooni/spec ts-018, ts-019, ts-020, ts-029); Pharos's own carry `x_`.
 * Types only: the decisions live in the probe (docs/experiments.md says how each is made).
 */
import type {
  DNSQuery,
  Envelope,
  Failure,
  HTTPTransaction,
  NetworkEvent,
  TCPConnectResult,
  TLSHandshake,
} from './measurement.js';

/**
 * Pharos's verdict for an app or platform: `ok` (reachable), `blocked` (fails here while the
 * control reaches it, or the failure itself proves interference), `throttled` (reachable but
 * slowed, from the throttling check), `down` (fails for the control too), null (could not tell).
 */
export type AppVerdict = 'ok' | 'blocked' | 'throttled' | 'down' | null;

/** What the test helper said about one failed endpoint. */
export type ControlReach = 'reachable' | 'unreachable' | null;

/** One measured endpoint (a host, a host:port, a URL or a data-centre address). */
export interface AppEndpointResult {
  /** As listed in `x_failed_endpoints`: a host name, `host:port`, or `ip:port`. */
  name: string;
  /** What was done: `dns` (lookup only), `tcp` (connect), `https` (GET), `http` (plain HTTP). */
  kind: 'dns' | 'tcp' | 'https' | 'http';
  /** `skipped`: not measured (the data budget ran out first). */
  status: 'ok' | 'failed' | 'skipped';
  /** OONI's operation names: resolve, connect, tls_handshake, http_round_trip. */
  failed_operation: string | null;
  failure: Failure | null;
  /** The mechanism label (mechanism.ts) of the failure, when it failed. */
  mechanism: string | null;
  /** What the system resolver answered (or the address itself, for address endpoints). */
  addresses: string[];
  /** What the public resolver answered; null when not asked or it failed. */
  public_addresses?: string[] | null;
  /** The test helper's view of a failed endpoint; null when not asked or unavailable. */
  control: ControlReach;
  control_failure?: Failure | null;
  /** The endpoint's verdict: blocked, down (control fails too), ok, null (could not tell). */
  verdict: 'ok' | 'blocked' | 'down' | null;
}

/** What a throttling check said about one reachable endpoint (the throttling module's hook). */
export interface AppThrottlingResult {
  endpoint: string;
  throttled: boolean | null;
  mechanism: string | null;
  /** The check's own keys (samples, statistics), as it reported them. */
  test_keys: Record<string, unknown> | null;
}

/** The keys every app and platform measurement has. */
export interface AppTestKeysBase {
  agent: 'redirect';
  socksproxy: null;
  network_events: NetworkEvent[] | null;
  queries: DNSQuery[] | null;
  requests: HTTPTransaction[] | null;
  tcp_connect: TCPConnectResult[] | null;
  tls_handshakes: TLSHandshake[] | null;
  x_verdict: AppVerdict;
  /** The most frequent mechanism among the endpoints found blocked; null unless blocked/throttled. */
  x_mechanism: string | null;
  /** Every endpoint that failed, blocked or not, in catalog order. */
  x_failed_endpoints: string[];
  /** The failed endpoints the verdict counts as blocked. */
  x_blocked_endpoints: string[];
  x_endpoints: AppEndpointResult[];
  /** Why no control was available, when one was needed and none answered. */
  x_control_failure: Failure | null;
  /** A failure no endpoint shows (an unreadable catalog, a bug of ours): the verdict is then null. */
  x_failure: Failure | null;
  /** True when endpoints were left unmeasured because the data budget ran out. */
  x_data_budget_exhausted: boolean;
  x_throttling: AppThrottlingResult[] | null;
  /** Bytes this measurement cost the volunteer (sent, received), control traffic included. */
  x_bytes_sent: number;
  x_bytes_received: number;
}

/** ooni/spec ts-018 (whatsapp, OONI 0.11.0). */
export interface WhatsAppTestKeys extends AppTestKeysBase {
  registration_server_failure: Failure | null;
  registration_server_status: 'ok' | 'blocked' | null;
  /** Hosts whose connects failed on every port. */
  whatsapp_endpoints_blocked: string[];
  /** Always empty, as in OONI (kept for readers). */
  whatsapp_endpoints_dns_inconsistent: string[];
  whatsapp_endpoints_status: 'ok' | 'blocked' | null;
  whatsapp_web_failure: Failure | null;
  whatsapp_web_status: 'ok' | 'blocked' | null;
}

/** ooni/spec ts-020 (telegram, OONI 0.3.1). */
export interface TelegramTestKeys extends AppTestKeysBase {
  telegram_http_blocking: boolean | null;
  telegram_tcp_blocking: boolean | null;
  telegram_web_failure: Failure | null;
  telegram_web_status: 'ok' | 'blocked' | null;
}

/** ooni/spec ts-029 (signal, OONI 0.2.5). */
export interface SignalTestKeys extends AppTestKeysBase {
  signal_backend_status: 'ok' | 'blocked' | null;
  signal_backend_failure: Failure | null;
}

/**
 * ooni/spec ts-019 (facebook_messenger, OONI 0.2.1): besides these, one pair of keys per service,
 * `facebook_<key>_dns_consistent` and `facebook_<key>_reachable` (b_api, b_graph, edge,
 * external_cdn, scontent_cdn, star, stun).
 */
export interface FacebookMessengerTestKeys extends AppTestKeysBase {
  facebook_dns_blocking: boolean | null;
  facebook_tcp_blocking: boolean | null;
  [perService: `facebook_${string}_dns_consistent` | `facebook_${string}_reachable`]: boolean | null;
}

/** The platforms (tiktok, youtube, instagram, facebook, x): Pharos's own experiment. */
export interface PlatformTestKeys extends AppTestKeysBase {
  /** The catalog's display name, e.g. "TikTok". */
  x_platform: string;
}

export type AppTestKeys =
  | WhatsAppTestKeys
  | TelegramTestKeys
  | SignalTestKeys
  | FacebookMessengerTestKeys
  | PlatformTestKeys;

export type AppMeasurement<K extends AppTestKeysBase = AppTestKeys> = Envelope<K>;
