/** What every command's argument parsing shares: the usage error, and strict parsing. */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

/** A mistake in the command line: exit code 2, with a pointer to the help. */
export class UsageError extends Error {}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    // Node's message for an unknown option is long; the option itself is what matters.
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    throw new UsageError(unknown === null ? message : `unknown option ${unknown[1] ?? ''}`);
  }
}
