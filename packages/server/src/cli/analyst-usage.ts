/** Usage text of `pharos analyst` (apart from the command, so `pharos help` loads nothing else). */
export const ANALYST_USAGE = `pharos analyst add NAME --data DIR
pharos analyst list --data DIR
pharos analyst remove NAME --data DIR
  add                   create an analyst and print their API token, once (only its SHA-256 is
                        kept, in DIR/analysts.json, mode 0600); the token goes in
                        Authorization: Bearer TOKEN to confirm, dismiss or annotate incidents
  list                  the analysts and when their tokens were made (never the tokens)
  remove                revoke an analyst's token at once, also on a running server
  --data DIR            the server's data directory
`;
