/**
 * The `pharos` commands' option parsing: node:util parseArgs, strict, with positionals, its errors
 * turned into usage errors in our words; and the check that a single-value option (declared
 * `multiple` so a repeat is seen) was given at most once.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { describeParseError } from '@pharos/probe';
import { UsageError } from './usage-error.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>
>;

export function parseCommandLine<const O extends Options>(argv: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(describeParseError(err));
  }
}

/** The one value of a `multiple` string option, or undefined; a repeat is a usage error. */
export function once(values: Record<string, unknown>, name: string): string | undefined {
  const given = values[name] as string[] | undefined;
  if (given && given.length > 1) throw new UsageError(`--${name} may be given only once`);
  return given?.[0];
}
