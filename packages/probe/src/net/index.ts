/** The network primitives: each records OONI-format observations and never throws for the network. */
export { maybeBinary } from './binary.js';
export { BROWSER_HEADERS, USER_AGENT } from './browser.js';
export { Connection } from './connection.js';
export { type DialOperation, type DialOptions, type DialOutcome, dialURL } from './dial.js';
export { type DoHOptions, lookupDoH } from './dns-doh.js';
export {
  DEFAULT_DNS_TIMEOUT_MS,
  type Lookup,
  type LookupOptions,
  type LookupResult,
  lookupSystem,
} from './dns-system.js';
export { lookupUDP } from './dns-udp.js';
export { formatEndpoint, parseEndpoint, urlHostname, urlPort } from './endpoint.js';
export { netFailure } from './failure.js';
export {
  type FetchOptions,
  type FetchOutcome,
  type FetchStep,
  fetchFollowingRedirects,
  MAX_REDIRECTS,
  type OpenHop,
} from './fetch.js';
export {
  DEFAULT_HTTP_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
  type HTTPResponseData,
  type HTTPRoundTripOutcome,
  type HTTPRoundTripRequest,
  httpRoundTrip,
} from './http.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  type TCPConnectOptions,
  type TCPConnectOutcome,
  tcpConnect,
} from './tcp.js';
export {
  DEFAULT_TLS_TIMEOUT_MS,
  type TLSHandshakeOptions,
  type TLSHandshakeOutcome,
  tlsHandshake,
} from './tls.js';
export { type OperationContext, Trace } from './trace.js';
