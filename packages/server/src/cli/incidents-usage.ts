/** Usage text of `pharos incidents` (apart from the command, so `pharos help` loads nothing else). */
export const INCIDENTS_USAGE = `pharos incidents export --data DIR [--format stop-csv|json]
pharos incidents import --stop FILE --data DIR
  export                every incident, newest first, to stdout: as Access Now STOP CSV (the
                        combined sheet's 47 columns; default) or as JSON with each change history
  import                read a STOP sheet (the combined 2016-2025 sheet, a per-year sheet or the
                        normalized table) into incidents, confirmed, each logged in the evidence
                        log by import:<file name>; rows imported before are skipped
  --data DIR            the server's data directory (stop the server first; while it runs, use
                        GET /api/v1/incidents.csv)
  --stop FILE           the STOP CSV to import
`;
