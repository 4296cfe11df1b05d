/**
 * Which labs exist on this machine and who owns them: one pid file per lab index under
 * /run/pharos-lab (claimed with O_EXCL, so concurrent processes never pick the same index), the labs
 * of this process (torn down on SIGINT, SIGTERM, SIGHUP and exit), and the cleanup of labs whose
 * owner died without tearing down.
 */
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_LABS } from './addressing.js';
import {
  deleteNamespaces,
  listNamespaces,
  NAMESPACE_PATTERN,
  NETNS_ETC,
  namespaceList,
  namespaceNames,
  namespacePidsSync,
  namespacesOfLab,
  removeNetnsEtc,
} from './namespaces.js';

export const RUN_DIR = '/run/pharos-lab';

interface OwnerRecord {
  pid: number;
  /** /proc/PID/stat start time, so a recycled pid is not mistaken for the owner. */
  startTime: string;
  k: number;
  workDir: string;
  created: string;
}

/** What the registry needs from a live lab. */
export interface LiveLab {
  readonly k: number;
  teardown(): Promise<void>;
  teardownSync(): void;
}

const live = new Set<LiveLab>();

function pidFile(k: number): string {
  return join(RUN_DIR, `phx${k}.json`);
}

function startTimeOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function ownerAlive(record: OwnerRecord): boolean {
  try {
    process.kill(record.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !record.startTime || startTimeOf(record.pid) === record.startTime;
}

function readOwner(k: number): { record: OwnerRecord; raw: string } | undefined {
  try {
    const raw = readFileSync(pidFile(k), 'utf8');
    return { record: JSON.parse(raw) as OwnerRecord, raw };
  } catch {
    return undefined;
  }
}

/** Claims a free lab index (no pid file, no leftover namespace) for this process. */
export async function claimIndex(workDir: string): Promise<{ k: number; pidFile: string }> {
  mkdirSync(RUN_DIR, { recursive: true });
  const taken = new Set<number>();
  for (const name of await listNamespaces()) {
    const m = NAMESPACE_PATTERN.exec(name);
    if (m) taken.add(Number(m[1]));
  }
  const record = (k: number): OwnerRecord => ({
    pid: process.pid,
    startTime: startTimeOf(process.pid),
    k,
    workDir,
    created: new Date().toISOString(),
  });
  for (let k = 0; k < MAX_LABS; k++) {
    if (taken.has(k)) continue;
    try {
      writeFileSync(pidFile(k), `${JSON.stringify(record(k))}\n`, { flag: 'wx' });
      return { k, pidFile: pidFile(k) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(
    `all ${MAX_LABS} lab slots are in use (see ${RUN_DIR}); if no lab is running, remove the leftovers with cleanupStaleLabs() (pharos lab clean)`,
  );
}

export function releaseIndex(k: number): void {
  const owner = readOwner(k);
  if (owner && owner.record.pid !== process.pid) return;
  try {
    unlinkSync(pidFile(k));
  } catch {
    // already gone
  }
}

function killNamespaceProcesses(names: string[]): void {
  for (const name of names) {
    for (const pid of namespacePidsSync(name)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/**
 * Removes what labs whose owning process is dead left behind: their processes, namespaces (with the
 * veths and rules inside), /etc/netns directories and pid files. Live labs (of this or any other
 * running process) are left alone. Resolves with the number of labs removed.
 */
export async function cleanupStaleLabs(): Promise<number> {
  mkdirSync(RUN_DIR, { recursive: true });
  const mine = new Set([...live].map((lab) => lab.k));
  const candidates = new Set<number>();
  for (const entry of readdirSync(RUN_DIR)) {
    const m = /^phx(\d+)\.json$/.exec(entry);
    if (m) candidates.add(Number(m[1]));
  }
  const namespaces = await listNamespaces();
  for (const name of namespaces) {
    const m = NAMESPACE_PATTERN.exec(name);
    if (m) candidates.add(Number(m[1]));
  }
  let etc: string[] = [];
  try {
    etc = readdirSync(NETNS_ETC).filter((name) => NAMESPACE_PATTERN.test(name));
  } catch {
    // no /etc/netns
  }
  for (const name of etc) candidates.add(Number(NAMESPACE_PATTERN.exec(name)![1]));

  let removed = 0;
  for (const k of [...candidates].sort((a, b) => a - b)) {
    if (mine.has(k)) continue;
    const owner = readOwner(k);
    if (owner && ownerAlive(owner.record)) continue;
    // The three fixed namespaces, and any probe namespaces (phx<k>-p<i>) the lab had.
    const names = [
      ...new Set([
        ...namespaceList(namespaceNames(k)),
        ...namespacesOfLab(k, namespaces),
        ...namespacesOfLab(k, etc),
      ]),
    ];
    killNamespaceProcesses(names.filter((n) => namespaces.includes(n)));
    await deleteNamespaces(names.filter((n) => namespaces.includes(n)));
    removeNetnsEtc(names);
    // Only remove the pid file if it is still the stale one (another process may just have claimed k).
    const again = readOwner(k);
    if (again && owner && again.raw === owner.raw) {
      try {
        unlinkSync(pidFile(k));
      } catch {
        // gone
      }
    }
    removed++;
  }
  return removed;
}

export function registerLab(lab: LiveLab): void {
  live.add(lab);
  installProcessHandlers();
}

export function unregisterLab(lab: LiveLab): void {
  live.delete(lab);
}

let installed = false;

/** Once per process: every live lab is torn down on SIGINT/SIGTERM/SIGHUP, and (synchronously) on exit. */
function installProcessHandlers(): void {
  if (installed) return;
  installed = true;
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let handling = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (handling) return;
    handling = true;
    const all = Promise.allSettled([...live].map((lab) => lab.teardown()));
    const limit = new Promise((resolve) => setTimeout(resolve, 5000));
    void Promise.race([all, limit]).then(() => {
      for (const lab of live) lab.teardownSync();
      handling = false;
      // Nobody else handles the signal: die of it, as the process would have without us.
      if (process.listenerCount(signal) === 1) {
        for (const s of signals) process.off(s, onSignal);
        process.kill(process.pid, signal);
      }
    });
  };
  for (const s of signals) process.on(s, onSignal);
  process.on('exit', () => {
    for (const lab of live) lab.teardownSync();
  });
}
