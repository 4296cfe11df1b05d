/** `pharos-probe beacon --help`. */
export const DEFAULT_BEACON_INTERVAL_SECONDS = 60;
/** Shorter would cost volunteers data for no better timeline (and collectors rate-limit). */
export const MIN_BEACON_INTERVAL_SECONDS = 1;

export const BEACON_USAGE = `Usage: pharos-probe beacon --collector URL ... [options]

Sends a tiny signed reachability beacon (a few hundred bytes) once per interval until stopped, so
the observatory sees when many probes of one network fall silent together. An attempt that reaches
no collector is written to the state directory and reported by the next beacon that gets through,
so the observatory's timeline of an outage fills in when connectivity returns.

Options:
  --collector URL        collector to send to; repeatable: tried in the order given
  --interval DURATION    time between beacons, e.g. 60s, 5m (default ${DEFAULT_BEACON_INTERVAL_SECONDS}s, at least ${MIN_BEACON_INTERVAL_SECONDS}s)
  --cc CC                country this probe is in (default ZZ: withheld)
  --asn ASN              network this probe is on, e.g. 29049 or AS29049 (default 0: withheld)
  --region CODE          ISO 3166-2 subdivision, e.g. AZ-FUZ (default: none)
  --state-dir DIR        the probe's key and beacon state (default: $PHAROS_PROBE_STATE,
                         else $XDG_STATE_HOME/pharos-probe, else ~/.local/state/pharos-probe)
  --count N              stop after N beacons (default: run until stopped)
  --ca FILE              extra trusted CA certificates for the collector, PEM; repeatable
  --quiet                print only problems
  -h, --help             show this help

The collector derives the network from the connection too and keeps the address nowhere.
Ctrl-C or SIGTERM stops cleanly. Exit codes: 0 stopped (or all N delivered), 1 error or a
collector refused the beacons, 2 bad usage, 3 missed attempts are still waiting to be reported,
130 interrupted.
`;
