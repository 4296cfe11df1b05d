/**
 * Progress on stderr while a run is under way. On a terminal, one bar redrawn in place; in a log
 * or pipe, one short line per finished URL (redraws would be noise there). `--quiet`: nothing.
 */
import type { OutputStream } from './io.js';
import { describeOutcome } from './outcome.js';
import type { FinishedURL } from './summary.js';
import { formatDuration } from './units.js';

export interface Progress {
  finished(result: FinishedURL): void;
  /** A message that must not be overwritten by the bar (warnings, Ctrl-C notes). */
  note(message: string): void;
  stop(): void;
}

export function createProgress(options: {
  stream: OutputStream;
  total: number;
  quiet: boolean;
  now: () => Date;
}): Progress {
  const { stream, total } = options;
  if (options.quiet) {
    return { finished() {}, note: (message) => stream.write(message), stop() {} };
  }
  if (!stream.isTTY) return new LineProgress(stream, total);
  return new BarProgress(stream, total, options.now);
}

class LineProgress implements Progress {
  private done = 0;
  constructor(
    private readonly stream: OutputStream,
    private readonly total: number,
  ) {}
  finished({ input, measurement, outcome }: FinishedURL): void {
    this.done++;
    const keys = measurement.test_keys;
    let detail = '';
    if (outcome.kind === 'blocked' && keys.x_mechanism) detail = ` (${keys.x_mechanism})`;
    if (outcome.kind === 'unknown' && keys.control_failure) detail = ` (control: ${keys.control_failure})`;
    this.stream.write(`[${this.done}/${this.total}] ${input.url} ${describeOutcome(outcome)}${detail}\n`);
  }
  note(message: string): void {
    this.stream.write(message);
  }
  stop(): void {}
}

const BAR_WIDTH = 20;

class BarProgress implements Progress {
  private done = 0;
  private blocked = 0;
  private down = 0;
  private readonly started: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly stream: OutputStream,
    private readonly total: number,
    private readonly now: () => Date,
  ) {
    this.started = now().getTime();
    // The clock keeps moving while slow URLs time out; unref so it never holds the process.
    this.timer = setInterval(() => this.draw(), 1000);
    this.timer.unref();
    this.draw();
  }

  finished({ outcome }: FinishedURL): void {
    this.done++;
    if (outcome.kind === 'blocked') this.blocked++;
    if (outcome.kind === 'website-down') this.down++;
    this.draw();
  }

  note(message: string): void {
    this.stream.write('\r\x1b[2K');
    this.stream.write(message);
    this.draw();
  }

  stop(): void {
    clearInterval(this.timer);
    this.draw();
    this.stream.write('\n');
  }

  private draw(): void {
    const filled = this.total === 0 ? BAR_WIDTH : Math.round((this.done / this.total) * BAR_WIDTH);
    const bar = '#'.repeat(filled) + '-'.repeat(BAR_WIDTH - filled);
    const elapsed = formatDuration(this.now().getTime() - this.started);
    const line = `[${bar}] ${this.done}/${this.total}  blocked ${this.blocked}  down ${this.down}  ${elapsed}`;
    this.stream.write(`\r\x1b[2K${line}`);
  }
}
