/**
 * Where the probe keeps what must outlive a run: its signing key, the outbox of measurements not
 * yet uploaded, the ledger of those that were, and those a collector refused.
 *
 * Precedence: `--state-dir`, then `PHAROS_PROBE_STATE`, then `$XDG_STATE_HOME/pharos-probe`,
 * then `~/.local/state/pharos-probe` (the XDG default for state that is not configuration).
 */
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

export interface StateLayout {
  dir: string;
  /** Ed25519 private key, PKCS#8 PEM, mode 0600. */
  key: string;
  /** Its public key, SPKI PEM (readable by anyone: it is what the collector sees). */
  pub: string;
  /** One signed submission item per file, `<id>.json`. */
  outbox: string;
  /** Items a collector refused for good, `<id>.json` with the reason. */
  failed: string;
  /** One JSON line per uploaded measurement. */
  ledger: string;
  /** Held by the one process uploading from this directory. */
  lock: string;
}

export function stateLayout(dir: string): StateLayout {
  return {
    dir,
    key: path.join(dir, 'probe.key'),
    pub: path.join(dir, 'probe.pub'),
    outbox: path.join(dir, 'outbox'),
    failed: path.join(dir, 'failed'),
    ledger: path.join(dir, 'sent.jsonl'),
    lock: path.join(dir, 'upload.lock'),
  };
}

export type Env = Record<string, string | undefined>;

/** The state directory to use, as an absolute path; nothing is created. */
export function resolveStateDir(option: string | undefined, env: Env, cwd: string): string {
  const nonEmpty = (value: string | undefined) => (value && value.trim() !== '' ? value : undefined);
  const chosen = nonEmpty(option) ?? nonEmpty(env.PHAROS_PROBE_STATE);
  if (chosen) return path.resolve(cwd, chosen);
  // XDG says a relative XDG_STATE_HOME is invalid and must be ignored.
  const xdg = nonEmpty(env.XDG_STATE_HOME);
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'pharos-probe');
  return path.join(nonEmpty(env.HOME) ?? homedir(), '.local', 'state', 'pharos-probe');
}

/**
 * Creates the directory and its subdirectories, private to the user (0700): measurements may say
 * which sites a volunteer checked. An existing directory's mode is left alone, because a user who
 * points --state-dir at a shared place decided that, and chmod-ing it could break other things.
 */
export async function ensureStateDirs(layout: StateLayout): Promise<void> {
  await mkdir(layout.dir, { recursive: true, mode: 0o700 });
  await mkdir(layout.outbox, { recursive: true, mode: 0o700 });
  await mkdir(layout.failed, { recursive: true, mode: 0o700 });
}
