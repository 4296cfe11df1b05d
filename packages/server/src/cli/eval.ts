/**
 * `pharos eval`: replays signal series through the detectors and scores the anomaly windows
 * against labelled events (docs/detection.md, "Evaluation"). Exit 0 when scored, 1 when an input
 * cannot be read, 2 on bad usage.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCommandLine } from './command-line.js';
import { EVAL_USAGE } from './eval-usage.js';
import type { CliIO } from './io.js';
import { UsageError } from './usage-error.js';

const OPTIONS = {
  signals: { type: 'string', multiple: true },
  labels: { type: 'string', multiple: true },
  config: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface EvalRequest {
  signals: string[];
  labels: string[];
  config: string | undefined;
  json: boolean;
}

/**
 * `--signals a b --labels c d`: parseArgs takes one value per flag, so the files after a flag
 * are regrouped here under the flag they follow.
 */
function parseEvalArgs(argv: string[]): EvalRequest | 'help' {
  const signals: string[] = [];
  const labels: string[] = [];
  const rest: string[] = [];
  let list: string[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--signals' || arg === '--labels') {
      list = arg === '--signals' ? signals : labels;
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--'))
        throw new UsageError(`${arg} needs at least one FILE`);
      list.push(value);
      i++;
    } else if (arg.startsWith('--signals=') || arg.startsWith('--labels=')) {
      list = arg.startsWith('--signals=') ? signals : labels;
      list.push(arg.slice(arg.indexOf('=') + 1));
    } else if (!arg.startsWith('-') && list) {
      list.push(arg);
    } else {
      list = null;
      rest.push(arg);
      // Values of the other options are not files of the lists.
      if (arg === '--config' && argv[i + 1] !== undefined) rest.push(argv[++i] as string);
    }
  }
  const { values, positionals } = parseCommandLine(rest, OPTIONS);
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (signals.length === 0) throw new UsageError('give the series to replay: --signals FILE...');
  if (labels.length === 0) throw new UsageError('give the labelled events: --labels FILE...');
  if ((values.config?.length ?? 0) > 1) throw new UsageError('--config may be given only once');
  return { signals, labels, config: values.config?.[0], json: values.json === true };
}

export async function evalCommand(argv: string[], io: CliIO): Promise<number> {
  let request: EvalRequest;
  try {
    const parsed = parseEvalArgs(argv);
    if (parsed === 'help') {
      io.stdout.write(EVAL_USAGE);
      return 0;
    }
    request = parsed;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`pharos eval: ${err.message}\nRun "pharos eval --help" for usage.\n`);
    return 2;
  }
  const resolve = (f: string) => path.resolve(io.cwd, f);
  // Loaded on use, like the other commands: `pharos help` needs none of this.
  const { runEval, scoresTable, resultJson } = await import('../eval/run.js');
  try {
    let config: unknown = {};
    if (request.config !== undefined) {
      const file = resolve(request.config);
      try {
        config = JSON.parse(await readFile(file, 'utf8'));
      } catch (err) {
        throw new Error(`${request.config}: ${(err as Error).message}`);
      }
    }
    const { parseDetectionConfig } = await import('../detection/config.js');
    const checked = parseDetectionConfig(config, request.config ?? 'config');
    const result = await runEval({
      signals: request.signals.map(resolve),
      labels: request.labels.map(resolve),
      config: checked,
    });
    io.stdout.write(request.json ? `${JSON.stringify(resultJson(result), null, 2)}\n` : scoresTable(result));
    return 0;
  } catch (err) {
    io.stderr.write(`pharos eval: ${(err as Error).message}\n`);
    return 1;
  }
}
