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
/** How long an upload keeps trying while no collector takes anything. */
export const DEFAULT_UPLOAD_TIMEOUT_SECONDS = 30;

/** Shared by the commands that upload. */
const STATE_DIR_HELP = `  --state-dir DIR        the probe's key, outbox and upload ledger (default: $PHAROS_PROBE_STATE,
                         else $XDG_STATE_HOME/pharos-probe, else ~/.local/state/pharos-probe)`;
const UPLOAD_HELP = `  --collector URL        collector to upload to, e.g. https://collector.example/; repeatable:
                         tried in the order given
${STATE_DIR_HELP}
  --upload-timeout SECONDS
                         give up after this long without any collector taking a batch
                         (default ${DEFAULT_UPLOAD_TIMEOUT_SECONDS}); what is not sent stays queued`;

export const MAIN_USAGE = `Usage: pharos-probe <command> [options]

Commands:
  run     measure whether websites, apps and platforms are blocked or throttled
  status  show queued, uploaded and refused measurements and this probe's key
  upload  upload queued measurements now
  submit  sign and upload measurements from a JSONL file (an earlier run, OONI Probe)
  beacon  send a small signed "still here" beacon every interval, so outages show
  help    show this help (also: pharos-probe <command> --help)
`;

export const RUN_USAGE = `Usage: pharos-probe run [--experiment NAME ...] (--input URL ... | --list FILE ...) [options]

Runs experiments and appends one measurement per line to a JSONL file. The default, Web
Connectivity, measures each URL (OONI's test: DNS, TCP, TLS and HTTP compared with a test
helper's view). With --collector, each measurement is also signed with this probe's key, kept in
the outbox on disk and uploaded as it finishes; what cannot be uploaded (the network is cut, the
collector is down) stays queued for "pharos-probe upload".

Experiments (--experiment NAME, repeatable; default web_connectivity):
  web_connectivity       is each URL blocked, and how (needs URLs)
  throttling             is each URL slowed down, against a neutral server name (needs URLs)
  whatsapp, telegram, signal, facebook_messenger
                         messaging apps, OONI's tests (their own endpoints; no URLs)
  tiktok, youtube, instagram, facebook, x
                         platforms: web, API and media endpoints from the catalog (no URLs)

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
  --ca FILE              extra trusted CA certificates, PEM (also for the collector); repeatable
  --fingerprints FILE    blockpage fingerprints CSV; repeatable
  --probe-cc CC          country code recorded in measurements (e.g. AZ)
  --probe-asn ASN        network recorded in measurements (e.g. AS29049)
  --region REGION        ISO 3166-2 region recorded in every measurement's annotations
                         (x_region, e.g. AZ-FUZ; must lie in --probe-cc); test-list URLs
                         also carry their category (x_category_code)
  --timeout SECONDS      time limit per step (default ${DEFAULT_TIMEOUT_SECONDS}; DNS waits at most ${MAX_DNS_TIMEOUT_SECONDS},
                         the test helper ${CONTROL_TIMEOUT_FACTOR} times as long)
  --catalog FILE         app and platform endpoints (JSON) instead of the shipped catalog
  --asn-table FILE       IP ranges to ASN (CSV start,end,asn) for Messenger's ownership check
  --data-budget SIZE     stop starting measurements once the run has used this much data,
                         e.g. 20MB (volunteers often pay per megabyte)
  --quiet                no progress on stderr
  -h, --help             show this help

Uploading (optional):
${UPLOAD_HELP}
  --beacon-interval DURATION
                         also send a reachability beacon this often while the run lasts,
                         e.g. 60s (see "pharos-probe beacon --help")

Ctrl-C stops starting new URLs and lets running ones finish; a second Ctrl-C aborts them.
Exit codes: 0 done (measurements left queued for a later upload included), 1 runtime error,
2 bad usage, 130 interrupted.
`;

export const STATUS_USAGE = `Usage: pharos-probe status [--state-dir DIR] [--json]

Shows how many measurements are queued in the outbox (and when the oldest was measured), how many
were uploaded, how many a collector refused, and the fingerprint of this probe's key.

Options:
${STATE_DIR_HELP}
  --json                 print the same as a JSON object
  -h, --help             show this help
`;

export const UPLOAD_USAGE = `Usage: pharos-probe upload --collector URL ... [options]

Uploads the queued measurements now, in gzip-compressed batches, retrying with backoff while no
collector takes them. Progress on stderr, a summary (with bytes sent) on stdout.

Options:
${UPLOAD_HELP}
  --ca FILE              extra trusted CA certificates for the collector, PEM; repeatable
  --retry-failed         put measurements a collector refused back in the outbox first
  --quiet                no progress on stderr
  -h, --help             show this help

Exit codes: 0 all sent, 1 error or some refused, 2 bad usage, 3 some still queued because no
collector could be reached (they are kept; run this again later), 130 interrupted.
`;

export const SUBMIT_USAGE = `Usage: pharos-probe submit FILE.jsonl ... --collector URL ... [options]

Submits measurements made elsewhere: an earlier "pharos-probe run" file, or OONI Probe's output.
Each line must be a JSON object with the OONI 0.2.0 envelope basics (data_format_version,
test_name, test_version, measurement_start_time, test_start_time, test_runtime, input, probe_cc,
probe_asn, probe_ip "127.0.0.1", software_name, software_version, test_keys); bad lines are named
and skipped. Good lines are signed with this probe's key, queued in the outbox
and uploaded as "pharos-probe upload" does. Submitting the same line twice uploads it once.

Options:
${UPLOAD_HELP}
  --ca FILE              extra trusted CA certificates for the collector, PEM; repeatable
  --quiet                no progress on stderr
  -h, --help             show this help

Exit codes: 0 all sent, 1 error, bad lines or some refused, 2 bad usage, 3 some still queued
because no collector could be reached, 130 interrupted.
`;
