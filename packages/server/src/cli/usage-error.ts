/** Bad usage: printed as `pharos: <message>`, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
