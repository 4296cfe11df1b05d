export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;

export const USAGE = `Usage: pharos <command> [options]

Commands:
  serve   run the Web Connectivity test helper (control) that probes compare with
  lab     the network lab: censorship scenarios in network namespaces (development tool,
          comes with the repository checkout; see "pharos lab --help")
  help    show this help

pharos serve [--host ${DEFAULT_HOST}] [--port ${DEFAULT_PORT}] [--tls-cert FILE --tls-key FILE]
             [--resolver IP:PORT] [--ca FILE ...] [--log]
  --host HOST           address to listen on (default ${DEFAULT_HOST})
  --port PORT           TCP port, 0 for any free one (default ${DEFAULT_PORT})
  --tls-cert FILE       serve HTTPS with this PEM certificate (chain); needs --tls-key
  --tls-key FILE        PEM private key for --tls-cert
  --resolver IP:PORT    DNS resolver the helper uses (default: the system's)
  --ca FILE             extra trusted CA certificates (PEM) for the helper's own fetches; repeatable
  --log                 structured request logs (pino) on stdout
Stops cleanly on Ctrl-C (SIGINT) or SIGTERM.

Exit codes: 0 done, 1 runtime error, 2 bad usage.
`;
