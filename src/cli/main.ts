#!/usr/bin/env node
/**
 * The pixwarden command line. Exit codes: 0 when every input was handled, 1 when any was
 * refused or unreadable, 2 for a usage error.
 *
 * Arguments are parsed with Node's own `util.parseArgs`: a cleaner is often run once per
 * upload, so the tens of milliseconds a larger parser costs at start-up count.
 */
import { setFlagsFromString } from 'node:v8';
import type { ParseArgsConfig } from 'node:util';
import { PixwardenError } from '../errors.js';
import { LIMIT_NAMES, flagName, parseLimit, resolveLimits } from '../limits.js';
import type { LimitName, Limits } from '../limits.js';
import { UsageError, parse } from './args.js';
import { COMPLIANCE_COMMANDS, COMPLIANCE_HELP } from './compliance-list.js';
import { runInspect } from './inspect-command.js';
import { runStrip } from './strip-command.js';
import type { StripFlags } from './strip-command.js';
import type { ConvertFlags } from './convert-command.js';

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
          [--jobs N] [--rewrite [--quality N]]
      Write clean copies: metadata removed, pixels untouched (or re-encoded, with --rewrite).
  convert <path...> -o DIR [--to jpeg|png|webp|avif|gif] [--width N] [--height N]
          [--fit inside|cover|contain] [--quality N] [--effort N] [--variants NAME,...]
          [--config FILE] [--watermark TEXT|FILE] [--overwrite] [--jobs N] [--json]
      Write resized or converted copies, made from decoded pixels, each verified clean.

Compliance (an encrypted store with consent, an audit trail and the data-subject rights):
${COMPLIANCE_HELP}
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
                     when the machine is busy); with --rewrite, worker processes
  --rewrite          re-encode each file from its decoded pixels in its own format, which
                     destroys anything hidden in the encoding too; pixels change slightly
  --quality N        with --rewrite: JPEG or WebP quality, 1-100 (default: JPEG 92, WebP 80)
  -h, --help         show this help

${LIMITS_HELP}`;

const CONVERT_HELP = `Usage: pixwarden convert <path...> -o DIR [options]

Write new images made from each file's decoded pixels: turned upright, converted to sRGB,
resized, encoded with secure presets, no metadata, each output verified. Decoding runs in
separate worker processes (sandboxed with bubblewrap where it works).

Options:
  -o, --output DIR     folder for the new files: photo.jpg becomes DIR/photo.webp, and a
                       variant DIR/photo.thumb.webp
  --to FORMAT          jpeg (or jpg), png, webp, avif or gif (default: the input's format)
  --width N            largest width in pixels (never enlarged)
  --height N           largest height in pixels
  --fit MODE           inside (default: fit within both), cover (fill both, crop the
                       overflow) or contain (fit within both, pad to exactly both)
  --quality N          1-100 (default: JPEG 85, WebP 80, AVIF 50)
  --effort N           encoder effort: AVIF 0-9, WebP 0-6 (lower is faster)
  --variants LIST      named sizes to write instead of one file, a comma list (built in:
                       thumb 256, medium 1024, large 2048; others from --config)
  --config FILE        JSON file naming more variants, or redefining built-in ones (also
                       PIXWARDEN_CONFIG); fields name, width, height, fit, format, quality,
                       effort: {"variants": [{"name": "card", "width": 600, "format": "webp"}]}
  --watermark VALUE    draw text, or the image at this path, in the bottom-right corner
                       (half opaque, at most a quarter of the picture)
  --overwrite          replace outputs that already exist
  --json               print one JSON array, one object per input
  --jobs N             worker processes (default: one per core)
  -h, --help           show this help

${LIMITS_HELP}`;

const INSPECT_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...LIMIT_OPTIONS,
} as const satisfies ParseArgsConfig['options'];

const STRIP_OPTIONS = {
  output: { type: 'string', short: 'o' },
  'in-place': { type: 'boolean' },
  keep: { type: 'string' },
  rename: { type: 'string' },
  overwrite: { type: 'boolean' },
  json: { type: 'boolean' },
  jobs: { type: 'string' },
  rewrite: { type: 'boolean' },
  quality: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...LIMIT_OPTIONS,
} as const satisfies ParseArgsConfig['options'];

const CONVERT_OPTIONS = {
  output: { type: 'string', short: 'o' },
  to: { type: 'string' },
  width: { type: 'string' },
  height: { type: 'string' },
  fit: { type: 'string' },
  quality: { type: 'string' },
  effort: { type: 'string' },
  variants: { type: 'string' },
  config: { type: 'string' },
  watermark: { type: 'string' },
  overwrite: { type: 'boolean' },
  json: { type: 'boolean' },
  jobs: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...LIMIT_OPTIONS,
} as const satisfies ParseArgsConfig['options'];

/** A whole number flag within a range, or a usage error naming the flag and the range. */
function wholeFlag(flag: string, text: string | undefined, min: number, max: number) {
  if (text === undefined) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(Number.isSafeInteger(value) && value >= min && value <= max))
    throw new UsageError(`${flag} takes a whole number from ${min} to ${max}, not "${text}"`);
  return value;
}

function choiceFlag<T extends string>(
  flag: string,
  text: string | undefined,
  allowed: readonly T[],
) {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text))
    throw new UsageError(`${flag} takes ${allowed.join(', ')}, not "${text}"`);
  return text as T;
}

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
    const jobs = wholeFlag('--jobs', values.jobs, 1, maxJobs);
    const quality = wholeFlag('--quality', values.quality, 1, 100);
    if (values.rewrite !== true && quality !== undefined)
      throw new UsageError('--quality is for --rewrite: the lossless strip does not re-encode');
    if (values.rewrite === true && values.keep !== undefined)
      throw new UsageError(
        '--rewrite keeps no metadata (the pixels are turned upright and converted to sRGB); --keep cannot be combined with it',
      );
    const flags: StripFlags = {
      keep: values.keep ?? 'orientation,icc',
      ...(values.rewrite === true ? { rewrite: quality === undefined ? {} : { quality } } : {}),
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
  if (command === 'convert') {
    const { values, positionals } = parse(rest, CONVERT_OPTIONS);
    if (values.help === true) return help(CONVERT_HELP);
    if (positionals.length === 0) throw new UsageError('convert needs at least one path');
    const { runConvert } = await import('./convert-command.js');
    const width = wholeFlag('--width', values.width, 1, 16_383);
    const height = wholeFlag('--height', values.height, 1, 16_383);
    const quality = wholeFlag('--quality', values.quality, 1, 100);
    const effort = wholeFlag('--effort', values.effort, 0, 9);
    const jobs = wholeFlag('--jobs', values.jobs, 1, maxJobs);
    const named = values.to?.toLowerCase();
    const to = choiceFlag('--to', named === 'jpg' ? 'jpeg' : named, [
      'jpeg',
      'png',
      'webp',
      'avif',
      'gif',
    ] as const);
    const fit = choiceFlag('--fit', values.fit, ['inside', 'cover', 'contain'] as const);
    const variants = values.variants?.split(',').map((name) => name.trim());
    const flags: ConvertFlags = {
      limits: limitsFrom(values),
      ...(values.output === undefined ? {} : { output: values.output }),
      ...(to === undefined ? {} : { to }),
      ...(width === undefined ? {} : { width }),
      ...(height === undefined ? {} : { height }),
      ...(fit === undefined ? {} : { fit }),
      ...(quality === undefined ? {} : { quality }),
      ...(effort === undefined ? {} : { effort }),
      ...(variants === undefined ? {} : { variants }),
      ...(values.config === undefined ? {} : { config: values.config }),
      ...(values.watermark === undefined ? {} : { watermark: values.watermark }),
      ...(values.overwrite === true ? { overwrite: true } : {}),
      ...(values.json === true ? { json: true } : {}),
      ...(jobs === undefined ? {} : { jobs }),
    };
    return runConvert(positionals, flags);
  }
  if ((COMPLIANCE_COMMANDS as readonly string[]).includes(command)) {
    const { runCompliance } = await import('./compliance-command.js');
    return runCompliance(
      command as (typeof COMPLIANCE_COMMANDS)[number],
      rest,
      resolveLimits({}, process.env),
    );
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
