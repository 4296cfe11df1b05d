/** Usage text of `pharos import` (apart from the command, so `pharos help` loads nothing else). */
export const IMPORT_USAGE = `pharos import signals FILE... --data DIR [--format csv|ioda] [--step 5m]
pharos import mrt FILE... --data DIR [--full-feed-min N] [--full-feed-min-v6 N]
                  [--visible-fraction 0.5] [--step 5m] [--no-geo]
  Writes signal points into DIR/signals.duckdb for detection; importing the same file again
  changes nothing, and newer values for the same times replace older ones.
  signals               CSV with a header time,entity,signal,value[,count][,step] (time in epoch
                        seconds or ISO 8601, UTC unless a zone is given; empty value = missing),
                        or IODA /v2/signals/raw JSON
  --format csv|ioda     the files' format (default: from the extension or the first character)
  --step DURATION       CSV step for rows without one, e.g. 300, 5m, 1h (default: the smallest
                        gap between a series' times)
  mrt                   BGP visibility from MRT files (RIB dumps and updates, plain, .gz or .bz2):
                        bgp.visible_prefixes and bgp.visible_slash24 per origin ASN and country
  --full-feed-min N     a peer is full-feed with more than N IPv4 prefixes (default 400000)
  --full-feed-min-v6 N  ... or more than N IPv6 prefixes (default 10000)
  --visible-fraction F  a prefix is visible when more than F of the full-feed peer ASNs carry it
                        (default 0.5)
  --step DURATION       bin length (default 5m)
  --no-geo              skip the per-country series (no IP-to-country lookups)
  --data DIR            the server's data directory; a running "pharos serve" on it holds the
                        database, so stop it first
`;
