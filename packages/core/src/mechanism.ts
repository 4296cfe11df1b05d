/**
 * The mechanism taxonomy (`x_mechanism`), after OONI's pipeline ontology §12.3 (research/ooni.md
 * §7), extended with the labels Pharos needs. Label the deepest node the evidence supports.
 */
export const MECHANISMS = {
  'dns.injection.blockpage': 'DNS answer points to a known blockpage server',
  'dns.injection.bogon': 'DNS answer is a bogon (private, loopback, reserved) address',
  'dns.injection.other': 'DNS answer differs from the control and fails TLS validation',
  'dns.nxdomain': 'resolver says the name does not exist while the control resolves it',
  'dns.refused': 'resolver refuses or fails the query while the control resolves it',
  'dns.timeout': 'resolver does not answer while the control resolves the name',
  'tcp.reset': 'TCP connection reset while connecting',
  'tcp.timeout': 'TCP connect times out (packets to the address are dropped)',
  'tcp.refused': 'TCP connect refused while the control connects',
  'tls.reset.sni': 'connection reset right after the ClientHello',
  'tls.reset.other': 'connection closed during the TLS handshake',
  'tls.timeout': 'TLS handshake stalls after the ClientHello (SNI-triggered drop)',
  'tls.mitm.self_signed': 'certificate from an unknown authority while the control sees a valid one',
  'tls.mitm.ca_signed': 'certificate invalid for the name while the control sees a valid one',
  'tls.throttle.sni': 'TLS traffic for the server name is throttled',
  'http.blockpage': 'a blockpage was served instead of the site',
  'http.redirect': 'the request was redirected somewhere the control was not',
  'http.error': 'the HTTP exchange failed in a way the control did not see',
  'http.reset.host': 'connection reset after the HTTP request carrying the Host header',
  'http.timeout': 'HTTP request stalls after the request carrying the Host header',
  'http.throttle.host': 'plain-HTTP traffic for the host is throttled',
  'ip.unreachable': 'the address is unreachable (host or network unreachable)',
  'ip.prefix_null_route': 'the address prefix is null-routed',
  /** Pharos: every operation failed, the control included: the network is down, not one site. */
  'network.down': 'nothing is reachable from the probe, not even the control: the network is down',
} as const;

export type Mechanism = keyof typeof MECHANISMS;

export function isMechanism(value: string): value is Mechanism {
  return Object.hasOwn(MECHANISMS, value);
}
