/**
 * Runs `pharos eval` on every RIPE Atlas day of ../shared/data/atlas-disco and records the scores in
 * docs/benchmarks.md (section `eval`), beside the published anchors.
 *
 *   node packages/server/dist/eval/record-atlas.js [SHARED_DATA_DIR] [BENCHMARKS_FILE]
 *
 * Defaults: ../shared/data beside the checkout and docs/benchmarks.md, from the repository root.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { recordBenchmark } from '../bench/record.js';
import { ATLAS_EVAL_CONFIG } from './atlas.js';
import { type EvalResult, runEval, SCORE_COLUMNS, scoreRow } from './run.js';
import type { Scores } from './score.js';

const DAYS = [
  ['20140827', 'Time Warner Cable outage (AS20001, AS11426, AS10796, AS11351)'],
  ['20150210_comcast', 'Comcast outage day (no event in Disco’s level-12 list)'],
  ['20160429', 'nine 5-minute cross-network events in discoEventMedians.txt'],
  ['20160616', 'AS43754 outage'],
  ['20160713_probe_reboot', 'firmware reboot wave: must open nothing'],
  ['20160726', 'no labelled event'],
] as const;

function cells(name: string, s: Scores | undefined): string {
  return `| ${(s ? scoreRow(name, s) : [name, ...SCORE_COLUMNS.slice(1).map(() => '—')]).join(' | ')} |`;
}

function table(result: EvalResult, top: string, medians: string): string {
  const head = `| ${SCORE_COLUMNS.join(' | ')} |\n|${SCORE_COLUMNS.map((_, i) => (i ? '---:' : '---')).join('|')}|`;
  const rows = [
    cells('all days, all labels', result.overall),
    cells('Disco level-12 events', result.byLabels[top]),
    cells('discoEventMedians (2016-04-29)', result.byLabels[medians]),
    ...DAYS.map(([day, what]) =>
      cells(`${day}: ${what}`, result.byFile[`atlas_msm7000_connlog_${day}.json.gz`]),
    ),
  ];
  return `${head}\n${rows.join('\n')}`;
}

async function main(): Promise<void> {
  const root = process.cwd();
  const data = path.resolve(process.argv[2] ?? path.join(root, '..', 'shared', 'data'), 'atlas-disco');
  const out = path.resolve(process.argv[3] ?? path.join(root, 'docs', 'benchmarks.md'));
  if (!existsSync(data))
    throw new Error(`${data} is missing: give the shared data directory as the first argument`);
  const signals = DAYS.map(([day]) => path.join(data, `atlas_msm7000_connlog_${day}.json.gz`));
  const top = 'disco_topEvents_thres12.txt';
  const medians = 'discoEventMedians.txt';
  const labels = [path.join(data, top), path.join(data, medians)];

  const atlas = await runEval({ signals, labels, config: ATLAS_EVAL_CONFIG });
  const small = await runEval({
    signals,
    labels,
    config: { signals: { 'beacon.active': { median: false } } },
  });
  const reboot = (r: EvalResult) =>
    r.windows.filter((w) => w.start >= 1468368000 && w.start < 1468454400).map((w) => w.entity);

  const body = `Recorded by \`node packages/server/dist/eval/record-atlas.js\`: the same runs as
\`pharos eval --signals atlas-disco/atlas_msm7000_connlog_*.json.gz --labels atlas-disco/disco_topEvents_thres12.txt atlas-disco/discoEventMedians.txt --config FILE\`
with the settings named above each table. Data: six days of RIPE Atlas connection logs (msm 7000)
turned into per-ASN and per-country \`beacon.active\` / \`beacon.disconnected\` series at a 5-minute
step. Labels: Disco's events (its ASN and country units; probe-cluster units have no Pharos
entity). What runs: the burst detector (docs/detection.md, "Detectors" and "Evaluation").

**Disco's unit size**: \`${JSON.stringify(ATLAS_EVAL_CONFIG)}\` (8 probes per unit, as Disco; no
median on the Atlas \`beacon.active\`, whose population is only the probes with an event that day):

${table(atlas, top, medians)}

Reboot day (2016-07-13): ${reboot(atlas).length} windows.

**Lab-sized units**: the burst defaults (\`minProbes\` = \`minActive\` = 3, \`minSilentSteps\` = 2) with
\`{"signals":{"beacon.active":{"median":false}}}\`, for comparison:

${table(small, top, medians)}

Reboot day with lab-sized units: ${reboot(small).length} windows (${reboot(small).join(', ') || 'none'}).

Published anchors (research/outage-detection.md §2-3; other data, other signals, so a frame of
reference, not a comparison on the same events):

| system | signal | published result |
|---|---|---|
| Trinocular (SIGCOMM 2013) | active probing of /24s, 11-minute rounds | detects 100% of outages lasting at least one round |
| Chocolatine (TMA 2019) | telescope unique sources, SARIMA | TPR 90%, FPR 2% |
| Disco (TMA 2017) | RIPE Atlas disconnections, Kleinberg bursts | precision 95% |
`;
  await recordBenchmark(out, 'eval', body);
  process.stdout.write(`${body}\nrecorded in ${out}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`record-atlas: ${err.message}\n`);
  process.exit(1);
});
