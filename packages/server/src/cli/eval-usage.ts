/** Usage text of `pharos eval` (apart from the command, so `pharos help` loads nothing else). */
export const EVAL_USAGE = `pharos eval --signals FILE... --labels FILE... [--json] [--config FILE]
  --signals FILE...     series to replay: signal CSV (time,entity,signal,value[,count]; time ISO
                        8601 or epoch seconds) or RIPE Atlas connection logs (msm 7000, *.json,
                        *.json.gz, JSON lines *.jsonl/*.dat), turned into per-ASN and per-country
                        beacon.active and beacon.disconnected series at a 5-minute step
  --labels FILE...      labelled events: CSV entity,start,end, or Disco's disco_topEvents_*.txt
                        or discoEventMedians.txt
  --config FILE         detector settings (JSON; see docs/detection.md), e.g.
                        {"signals": {"beacon.disconnected": {"burst": {"minProbes": 8}}}}
  --json                print the scores as JSON
  Runs the configured detectors over each file as the server would and scores them: event-level
  precision and recall (a window is true when it overlaps a label of the same entity, one step of
  slack), median start-time error, median time to detect, false alerts per entity-week.
`;
