#!/usr/bin/env node
/**
 * The pixwarden command line. Exit codes: 0 when every input was handled, 1 when any was
 * refused or unreadable, 2 for a usage error.
 *
 * Arguments are parsed with Node's own `util.parseArgs`: a cleaner is often run once per
 * upload, so the tens of milliseconds a larger parser costs at start-up count.
 */
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import type { ParseArgsConfig } from 'node:util';
import { PixwardenError } from '../errors.js';
import { LIMIT_NAMES, flagName, parseLimit, resolveLimits } from '../limits.js';
import type { LimitName, Limits } from '../limits.js';
import { runInspect } from './inspect-command.js';
import { runStrip } from './strip-command.js';
import type { StripFlags } from './strip-command.js';

export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;

const VERSION = '0.1.0';

/** `--max-pixels N` and the like, one per limit. */
const LIMIT_OPTIONS = Object.fromEntries(
  LIMIT_NAMES.map((name) => [flagName(name).slice(2), { type: 'string' as const }]),
) as Record<string, { type: 'string' }>;

const LIMITS_HELP = `Limits (whole numbers of bytes, pixels, frames or segments; 0 turns one off; each can
also be set as a PIXWARDEN_* variable, such as PIXWARDEN_MAX_PIXELS):
  --max-file-bytes N         largest input file (default 52428800, 50 MiB)
  --max-lossless-pixels N    pixels a header may claim for a lossless clean (default 268402689)
  --max-pixels N             pixels of a picture that is decoded (default 40000000)
  --max-dimension N          side of a picture that is decoded (default 12000)
  --max-lossless-frames N    frames for a lossless clean (default 1000)
  --max-frames N             frames of a picture that is decoded (default 100)
  --max-segment-bytes N      bytes of one metadata segment or chunk (default 1048576)
  --max-segments N           segments or chunks besides image data (default 1000)
  --max-inflate-bytes N      bytes compressed text or a profile may inflate to (default 1048576)
`;

const HELP = `Usage: pixwarden <command> [options] <path...>

Find and losslessly remove the personal data hidden in photos.

Commands:
  inspect <path...> [--json]
      Report what files reveal: location, device, time, identity, thumbnails, hidden data.
  strip <path...> (-o DIR | --in-place) [--keep LIST] [--rename hash|seq] [--overwrite] [--json]
          [--jobs N]
      Write clean copies: metadata removed, pixels untouched.

A path is a file, a folder (walked recursively; hidden files skipped, symbolic links not
followed) or - for standard input. Run "pixwarden <command> --help" for a command's options.

Options:
  -h, --help     show this help
  -V, --version  show the version
`;

const INSPECT_HELP = `Usage: pixwarden inspect <path...> [--json]

Report what each file reveals, grouped by location, device, time, identity, thumbnails,
free text, generation parameters, provenance, colour profile and hidden data.

Options:
  --json      print one JSON array, one object per file
  -h, --help  show this help

${LIMITS_HELP}`;

const STRIP_HELP = `Usage: pixwarden strip <path...> (-o DIR | --in-place) [options]

Write a clean copy of each file: every metadata-bearing part removed, the pixels untouched,
the result verified.

Options:
  -o, --output DIR   folder for the clean files (- writes one file to standard output)
  --in-place         replace each input with its clean copy (atomically, keeping its mode)
  --keep LIST        what to keep: a comma list of orientation, icc, copyright, or none
                     (default: orientation,icc)
  --rename SCHEME    replace file names: hash (of the clean bytes) or seq (0001, 0002, ...)
  --overwrite        replace outputs that already exist
  --json             print one JSON array, one object per input
  --jobs N           threads to clean with (default: one per core, up to 4, or one
                     when the machine is busy)
  -h, --help         show this help

${LIMITS_HELP}`;

const INSPECT_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...LIMIT_OPTIONS,
} as const satisfies ParseArgsConfig['options'];

const STRIP_OPTIONS = {
  output: { type: 'string', short: 'o' },
  'in-place': { type: 'boolean' },
  keep: { type: 'string', default: 'orientation,icc' },
  rename: { type: 'string' },
  overwrite: { type: 'boolean' },
  json: { type: 'boolean' },
  jobs: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...LIMIT_OPTIONS,
} as const satisfies ParseArgsConfig['options'];

/** The limits in force: flags over `PIXWARDEN_*` variables over the defaults. */
function limitsFrom(values: Record<string, unknown>): Limits {
  const overrides: Partial<Record<LimitName, number>> = {};
  for (const name of LIMIT_NAMES) {
    const flag = flagName(name);
    const text = values[flag.slice(2)];
    if (typeof text === 'string') overrides[name] = parseLimit(name, text, flag);
  }
  return resolveLimits(overrides, process.env);
}

const maxJobs = 64;

class UsageError extends Error {}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    // Node's message for an unknown option is long; the option itself is what matters.
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    throw new UsageError(unknown === null ? message : `unknown option ${unknown[1] ?? ''}`);
  }
}

async function run(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === '-V' || command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return EXIT_OK;
  }
  if (command === 'inspect') {
    const { values, positionals } = parse(rest, INSPECT_OPTIONS);
    if (values.help === true) return help(INSPECT_HELP);
    if (positionals.length === 0) throw new UsageError('inspect needs at least one path');
    return runInspect(positionals, { json: values.json === true, limits: limitsFrom(values) });
  }
  if (command === 'strip') {
    const { values, positionals } = parse(rest, STRIP_OPTIONS);
    if (values.help === true) return help(STRIP_HELP);
    if (positionals.length === 0) throw new UsageError('strip needs at least one path');
    if (values.rename !== undefined && values.rename !== 'hash' && values.rename !== 'seq') {
      throw new UsageError(`--rename takes hash or seq, not "${values.rename}"`);
    }
    const jobs =
      values.jobs === undefined ? undefined : /^\d+$/.test(values.jobs) ? Number(values.jobs) : NaN;
    if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1 && jobs <= maxJobs)) {
      throw new UsageError(
        `--jobs takes a whole number from 1 to ${maxJobs}, not "${values.jobs ?? ''}"`,
      );
    }
    const flags: StripFlags = {
      keep: values.keep,
      limits: limitsFrom(values),
      ...(values.output === undefined ? {} : { output: values.output }),
      ...(values['in-place'] === true ? { inPlace: true } : {}),
      ...(values.rename === undefined ? {} : { rename: values.rename }),
      ...(values.overwrite === true ? { overwrite: true } : {}),
      ...(values.json === true ? { json: true } : {}),
      ...(jobs === undefined ? {} : { jobs }),
    };
    return runStrip(positionals, flags);
  }
  throw new UsageError(`unknown command "${command}"`);
}

function help(text: string): number {
  process.stdout.write(text);
  return EXIT_OK;
}

async function main(argv: readonly string[]): Promise<void> {
  try {
    process.exitCode = await run(argv);
  } catch (error: unknown) {
    const usage =
      error instanceof UsageError ||
      (error instanceof PixwardenError && error.code === 'ERR_INVALID_ARGUMENT');
    if (usage) {
      process.stderr.write(`pixwarden: ${error.message}\nRun "pixwarden --help" for usage.\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    if (error instanceof PixwardenError) {
      process.stderr.write(`pixwarden: ${error.code}: ${error.message}\n`);
      process.exitCode = EXIT_REFUSED;
      return;
    }
    process.stderr.write(
      `pixwarden: internal error: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = EXIT_REFUSED;
  }
}

// A run of the CLI is short, and its threads share the machine's cores with the compiler's.
// V8's default tier-up suits long-lived programs: it spends more time optimising functions
// than a batch of a thousand files gains from the optimised code. Tier up later instead.
setFlagsFromString('--interrupt-budget=1000000');

// A reader that goes away (`pixwarden inspect … | head`) ends the output, not the run: files
// are still cleaned and the exit code still says how it went.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') process.exitCode = EXIT_REFUSED;
  });
}

await main(process.argv.slice(2));
