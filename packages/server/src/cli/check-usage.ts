/** Usage text of `pharos check` (apart from the command, so `pharos help` loads nothing else). */
export const CHECK_USAGE = `pharos check --data DIR [--no-signatures] [--json]
  --data DIR            the server's data directory (stop the server first)
  --no-signatures       skip re-verifying every measurement's Ed25519 signature (faster)
  --json                print the report as JSON
`;
