/**
 * One report id per experiment of a run, in OONI's shape, so the run's measurements of each
 * experiment are grouped as OONI groups a report.
 */
import { newReportId } from '../measurement/envelope.js';

export function runReportIds(
  start: Date,
  probeCC?: string,
  probeASN?: string,
): (experiment: string) => string {
  const ids = new Map<string, string>();
  return (experiment) => {
    let id = ids.get(experiment);
    if (!id) {
      id = newReportId(start, experiment, probeCC, probeASN);
      ids.set(experiment, id);
    }
    return id;
  };
}
