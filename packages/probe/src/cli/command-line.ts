/**
 * What the pharos-probe and pharos CLIs share about command lines: the usage error they print
 * with exit code 2, and node's parseArgs errors turned into messages a user can act on.
 */

/** Bad usage: printed as `<command>: <message>`, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** parseArgs' messages are long and written for programmers; keep the part a user needs. */
export function describeParseError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  const option = /'(-[^' ]*)/.exec(message)?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (/argument missing|ambiguous/.test(message)) return `${option} needs a value`;
    if (/does not take an argument/.test(message)) return `${option} takes no value`;
  }
  return message;
}
