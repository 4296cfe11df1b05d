import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import type net from 'node:net';
import { createInterface } from 'node:readline';

export interface ReadyLine {
  ready: true;
  warnings?: string[];
}

/**
 * A lab process living in one namespace: started with `ip netns exec NS node SCRIPT CONFIG`, its
 * stderr going to LOG_FILE, talking JSON lines on stdin/stdout. It never keeps the parent's event
 * loop alive on its own (only pending requests do, through their timers), and it exits by itself
 * when the parent goes away (its stdin closes).
 */
export class NamespaceProcess {
  readonly child: ChildProcess;
  private readonly waiters = new Map<number, (value: unknown) => void>();
  private readyResolve?: (line: ReadyLine) => void;
  private exited = false;
  private readonly exitPromise: Promise<void>;

  constructor(
    readonly name: string,
    namespace: string,
    script: string,
    args: string[],
    readonly logFile: string,
  ) {
    const fd = openSync(logFile, 'a');
    try {
      this.child = spawn('ip', ['netns', 'exec', namespace, process.execPath, script, ...args], {
        stdio: ['pipe', 'pipe', fd],
      });
    } finally {
      closeSync(fd);
    }
    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', () => {
        this.exited = true;
        resolve();
      });
      this.child.once('error', () => {
        this.exited = true;
        resolve();
      });
    });
    this.child.stdin?.on('error', () => {});
    const lines = createInterface({ input: this.child.stdout! });
    lines.on('line', (line) => this.onLine(line));
    this.child.unref();
    (this.child.stdin as net.Socket | null)?.unref?.();
    (this.child.stdout as net.Socket | null)?.unref?.();
  }

  private onLine(line: string): void {
    let message: { ready?: boolean; ack?: number };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return;
    }
    if (message.ready) this.readyResolve?.(message as ReadyLine);
    if (typeof message.ack === 'number') {
      this.waiters.get(message.ack)?.(message);
      this.waiters.delete(message.ack);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last part of the process's stderr log, for error messages. */
  logTail(bytes = 2000): string {
    try {
      const text = readFileSync(this.logFile, 'utf8');
      return text.length > bytes ? `…${text.slice(-bytes)}` : text;
    } catch {
      return '';
    }
  }

  /** Resolves with the process's {"ready":true} line; rejects if it exits or TIMEOUT_MS passes first. */
  waitReady(timeoutMs: number): Promise<ReadyLine> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const tail = this.logTail().trim();
        reject(
          new Error(
            `lab ${this.name} process ${why}${tail ? `; its stderr (${this.logFile}):\n${tail}` : ''}`,
          ),
        );
      };
      const timer = setTimeout(() => fail(`was not ready after ${timeoutMs} ms`), timeoutMs);
      this.readyResolve = (line) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(line);
      };
      this.exitPromise.then(() => {
        // Let a ready line that raced the exit win.
        setImmediate(() => fail(`exited before it was ready (code ${this.child.exitCode})`));
      });
    });
  }

  /** Sends MESSAGE (with a fresh id) and resolves on its {"ack":id}. */
  request(message: Record<string, unknown> & { id: number }, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.exited) {
        reject(new Error(`lab ${this.name} process is not running; see ${this.logFile}`));
        return;
      }
      const timer = setTimeout(() => {
        this.waiters.delete(message.id);
        reject(
          new Error(
            `lab ${this.name} process did not acknowledge within ${timeoutMs} ms; see ${this.logFile}`,
          ),
        );
      }, timeoutMs);
      this.waiters.set(message.id, () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.stdin?.write(`${JSON.stringify(message)}\n`);
    });
  }

  /** SIGTERM, then SIGKILL if it is still there after GRACE_MS. */
  async stop(graceMs = 1000): Promise<void> {
    if (!this.exited && this.child.pid !== undefined) {
      this.child.kill('SIGTERM');
      if (!(await this.waitExit(graceMs))) {
        this.child.kill('SIGKILL');
        await this.waitExit(1000);
      }
    }
    this.child.stdin?.destroy();
    this.child.stdout?.destroy();
  }

  /** True if the process exited within MS. */
  private waitExit(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.exitPromise.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  stopSync(): void {
    if (this.exited || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
