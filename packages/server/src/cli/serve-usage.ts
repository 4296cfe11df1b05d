/** `pharos serve`'s defaults and usage text (part of `pharos help`). */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;
export const DEFAULT_DATA_DIR = 'pharos-data';

export const SERVE_USAGE = `pharos serve [--data DIR] [--origin NAME] [--late-after SECONDS] [--host ${DEFAULT_HOST}] [--port ${DEFAULT_PORT}]
             [--tls-cert FILE --tls-key FILE] [--resolver IP:PORT] [--ca FILE ...] [--log]
             [--beacon-interval 60s] [--measurement-step 10m] [--detect-every 60s|off]
             [--detect-config FILE]
  --data DIR            where measurements, the evidence log and its key are kept
                        (default ./${DEFAULT_DATA_DIR}; created on first start)
  --late-after SECONDS  mark a measurement late when it arrives this long after it ended
                        (default 300: the probe could not upload it in time, e.g. the network was cut)
  --origin NAME         the evidence log's name in its checkpoints, e.g. pharos.example.org/log
                        (fixed at the first start of a data directory)
  --host HOST           address to listen on (default ${DEFAULT_HOST})
  --port PORT           TCP port, 0 for any free one (default ${DEFAULT_PORT})
  --tls-cert FILE       serve HTTPS with this PEM certificate (chain); needs --tls-key
  --tls-key FILE        PEM private key for --tls-cert
  --resolver IP:PORT    DNS resolver the test helper uses (default: the system's)
  --ca FILE             extra trusted CA certificates (PEM) for the helper's own fetches; repeatable
  --log                 structured request logs (pino) on stdout; without it, warnings on stderr
  --beacon-interval D   how often the probes beacon (default 60s): the step of the silence signals
  --measurement-step D  bin measurements' outcomes in steps this long for detection (default 10m)
  --detect-every D      run a detection pass this often, just after each step ends (default: the
                        beacon interval); off: no detection, incidents are not updated
  --detect-config FILE  detector settings (JSON) overriding the defaults; see docs/detection.md
Serves the collector (POST /api/v1/measurements, /api/v1/beacons), the evidence log (/log/...),
incidents (/api/v1/incidents) and the Web Connectivity test helper (POST /). Stops cleanly on
Ctrl-C (SIGINT) or SIGTERM: requests in flight are answered and stored first.
`;
