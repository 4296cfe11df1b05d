/**
 * Analysts' API tokens: DATA_DIR/analysts.json (mode 0600) holds each analyst's name, the SHA-256
 * of their token and when it was made. The token itself is shown once, when it is created, and
 * never stored: someone who copies the file cannot act as an analyst. The file is read at each
 * check, so `pharos analyst add` and `remove` take effect on a running server at once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

export const ANALYSTS_FILE = 'analysts.json';
export const ANALYST_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

const fileSchema = z.strictObject({
  analysts: z.array(
    z.strictObject({
      name: z.string().regex(ANALYST_NAME),
      token_sha256: z.string().regex(/^[0-9a-f]{64}$/),
      created: z.string(),
    }),
  ),
});
export type AnalystEntry = z.infer<typeof fileSchema>['analysts'][number];

export class AnalystError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnalystError';
  }
}

function hash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export class AnalystRegistry {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, ANALYSTS_FILE);
  }

  async list(): Promise<AnalystEntry[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new AnalystError(`${this.file} is not JSON`);
    }
    const checked = fileSchema.safeParse(parsed);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      throw new AnalystError(`${this.file}: ${issue.path.join('.') || 'content'}: ${issue.message}`);
    }
    return checked.data.analysts;
  }

  private async save(analysts: AnalystEntry[]): Promise<void> {
    const tmp = `${this.file}.tmp-${process.pid}`;
    await writeFile(tmp, `${JSON.stringify({ analysts }, null, 2)}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.file);
  }

  /** Creates an analyst and returns their token (shown once; only its hash is kept). */
  async add(name: string, now = new Date()): Promise<string> {
    if (!ANALYST_NAME.test(name)) {
      throw new AnalystError(
        `"${name}" is not a usable analyst name: letters, digits, . _ @ -, starting with a letter or digit, at most 64`,
      );
    }
    const analysts = await this.list();
    if (analysts.some((a) => a.name === name)) {
      throw new AnalystError(`an analyst named ${name} exists; remove them first to issue a new token`);
    }
    const token = `pharos_${randomBytes(32).toString('base64url')}`;
    analysts.push({ name, token_sha256: hash(token).toString('hex'), created: now.toISOString() });
    await this.save(analysts);
    return token;
  }

  /** Removes an analyst; false when there was none of that name. */
  async remove(name: string): Promise<boolean> {
    const analysts = await this.list();
    const kept = analysts.filter((a) => a.name !== name);
    if (kept.length === analysts.length) return false;
    await this.save(kept);
    return true;
  }

  /** The analyst a token belongs to, or null. */
  async verify(token: string): Promise<string | null> {
    const presented = hash(token);
    let who: string | null = null;
    // Compare with every entry in constant time, so timing says nothing about which almost matched.
    for (const a of await this.list()) {
      if (timingSafeEqual(presented, Buffer.from(a.token_sha256, 'hex'))) who = a.name;
    }
    return who;
  }
}
