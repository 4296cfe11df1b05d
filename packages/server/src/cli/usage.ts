import { ANALYST_USAGE } from './analyst-usage.js';
import { CHECK_USAGE } from './check-usage.js';
import { EVAL_USAGE } from './eval-usage.js';
import { INCIDENTS_USAGE } from './incidents-usage.js';
import { SERVE_USAGE } from './serve-usage.js';
import { VERIFY_USAGE } from './verify-usage.js';

export { DEFAULT_HOST, DEFAULT_PORT } from './serve-usage.js';

export const USAGE = `Usage: pharos <command> [options]

Commands:
  serve   run the observatory server: collector, evidence log, test helper and detection
  verify  check a measurement's proof, or two checkpoints' consistency, offline with the log's vkey
  check   check a stopped server's data directory: measurements, log entries, tiles, checkpoints
  analyst add, list or remove the analysts who may confirm, dismiss and annotate incidents
  incidents  export incidents as STOP CSV or JSON; import Access Now STOP sheets
  eval    replay signal series through the detectors and score them against labelled events
  import  write signal series (CSV, IODA JSON) or BGP visibility from MRT files into the data directory
  lab     the network lab: censorship scenarios in network namespaces (development tool,
          comes with the repository checkout; see "pharos lab --help")
  help    show this help

${SERVE_USAGE}
${VERIFY_USAGE}
${CHECK_USAGE}
${ANALYST_USAGE}
${INCIDENTS_USAGE}
${EVAL_USAGE}
Exit codes: 0 done, 1 runtime error, 2 bad usage.
`;
