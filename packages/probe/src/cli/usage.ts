export const DEFAULT_TEST_HELPER = 'https://0.th.ooni.org/';
export const DEFAULT_RESOLVER = '8.8.8.8:53';
export const DEFAULT_DOH = 'https://dns.google/dns-query';
export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 64;
export const DEFAULT_TIMEOUT_SECONDS = 10;
/** A resolver that has not answered in 4 s will not; waiting longer only slows the run. */
export const MAX_DNS_TIMEOUT_SECONDS = 4;
/** The test helper runs DNS, TCP, TLS and HTTP itself before answering, so it gets this many steps' time. */
export const CONTROL_TIMEOUT_FACTOR = 3;

export const MAIN_USAGE = `Usage: pharos-probe <command> [options]

Commands:
  run     measure whether websites are blocked (Web Connectivity)
  help    show this help (also: pharos-probe <command> --help)
`;

export const RUN_USAGE = `Usage: pharos-probe run (--input URL ... | --list FILE ...) [options]

Measures each URL with Web Connectivity (OONI's test: DNS, TCP, TLS and HTTP compared with a
test helper's view) and appends one measurement per line to a JSONL file.

Inputs (at least one; both may be repeated and combined):
  --input URL            an http:// or https:// URL to measure
  --list FILE            a Citizen Lab test-list CSV (header with a "url" column)

Options:
  --output FILE          JSONL file the measurements are appended to
                         (default: pharos-web_connectivity-<UTC yyyymmddThhmmssZ>.jsonl)
  --concurrency N        URLs measured at the same time, 1-${MAX_CONCURRENCY} (default ${DEFAULT_CONCURRENCY})
  --th URL               test helper (control) to compare with; repeatable
                         (default ${DEFAULT_TEST_HELPER})
  --resolver IP[:PORT]   public DNS resolver (default ${DEFAULT_RESOLVER})
  --doh URL              DNS-over-HTTPS resolver (default ${DEFAULT_DOH})
  --ca FILE              extra trusted CA certificates, PEM; repeatable
  --fingerprints FILE    blockpage fingerprints CSV; repeatable
  --probe-cc CC          country code recorded in measurements (e.g. AZ)
  --probe-asn ASN        network recorded in measurements (e.g. AS29049)
  --timeout SECONDS      time limit per step (default ${DEFAULT_TIMEOUT_SECONDS}; DNS waits at most ${MAX_DNS_TIMEOUT_SECONDS},
                         the test helper ${CONTROL_TIMEOUT_FACTOR} times as long)
  --quiet                no progress on stderr
  -h, --help             show this help

Ctrl-C stops starting new URLs and lets running ones finish; a second Ctrl-C aborts them.
Exit codes: 0 done, 1 runtime error, 2 bad usage, 130 interrupted.
`;
