/** Usage text of `pharos verify` (apart from the command, so `pharos help` loads nothing else). */
export const VERIFY_USAGE = `pharos verify --measurement FILE.json --proof FILE.tlog-proof --vkey VKEY_FILE
pharos verify --record FILE.json --proof FILE.tlog-proof --vkey VKEY_FILE
pharos verify --checkpoint OLD --checkpoint NEW --consistency-proof FILE --vkey VKEY_FILE
  --measurement FILE    the measurement as GET /api/v1/measurements/<id> returns it (JSON)
  --proof FILE          its C2SP tlog-proof (GET /api/v1/measurements/<id>/proof)
  --record FILE         a record (an incident's state change) as GET /api/v1/records/<log index>
                        returns it; its proof is GET /api/v1/records/<log index>/proof
  --vkey FILE           the log's verifier key (GET /log/vkey), obtained from a source you trust
  --checkpoint FILE     a signed checkpoint (GET /log/checkpoint); give the older one first
  --consistency-proof FILE  base64 hashes, one per line
                        (GET /api/v1/log/proof/consistency?from=OLD_SIZE&to=NEW_SIZE&format=text)
  Checks, offline: the measurement's hash is what its log entry records, the entry is in the
  signed checkpoint's tree, the checkpoint is signed by the vkey, and the probe signed the
  measurement; for a record, that its hash is what its entry records and the entry is in the
  tree; or that the newer checkpoint's tree extends the older one's.
`;
