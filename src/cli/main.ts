#!/usr/bin/env node
/**
 * The pixwarden command line. Exit codes: 0 when every input was handled, 1 when any was
 * refused or unreadable, 2 for a usage error.
 */
import { Command, CommanderError, Option } from 'commander';
import { PixwardenError } from '../errors.js';
import { runInspect } from './inspect-command.js';
import { runStrip } from './strip-command.js';

export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;

function program(): Command {
  const cli = new Command('pixwarden')
    .description('Find and losslessly remove the personal data hidden in photos.')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  cli
    .command('inspect')
    .description(
      'report what files reveal: location, device, time, identity, thumbnails, hidden data',
    )
    .argument('<path...>', 'files, folders (recursive) or - for standard input')
    .option('--json', 'print one JSON array, one object per file')
    .action(async (paths: string[], options: { json?: boolean }) => {
      process.exitCode = await runInspect(paths, { json: options.json === true });
    });

  cli
    .command('strip')
    .description('write clean copies: metadata removed, pixels untouched')
    .argument('<path...>', 'files, folders (recursive) or - for standard input')
    .option(
      '-o, --output <dir>',
      'folder for the clean files (- writes one file to standard output)',
    )
    .option('--in-place', 'replace each input with its clean copy')
    .option(
      '--keep <list>',
      'what to keep: comma list of orientation,icc,copyright or none',
      'orientation,icc',
    )
    .addOption(
      new Option('--rename <scheme>', 'replace file names: hash or seq').choices(['hash', 'seq']),
    )
    .option('--overwrite', 'replace outputs that already exist')
    .option('--json', 'print one JSON array, one object per input')
    .action(async (paths: string[], options: StripFlags) => {
      process.exitCode = await runStrip(paths, options);
    });
  return cli;
}

export interface StripFlags {
  output?: string;
  inPlace?: boolean;
  keep: string;
  rename?: 'hash' | 'seq';
  overwrite?: boolean;
  json?: boolean;
}

async function main(argv: readonly string[]): Promise<void> {
  try {
    await program().parseAsync([...argv]);
  } catch (error: unknown) {
    if (error instanceof CommanderError) {
      const benign =
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help';
      process.exitCode = benign ? EXIT_OK : EXIT_USAGE;
      return;
    }
    if (error instanceof PixwardenError) {
      process.stderr.write(`pixwarden: ${error.code}: ${error.message}\n`);
      process.exitCode = error.code === 'ERR_INVALID_ARGUMENT' ? EXIT_USAGE : EXIT_REFUSED;
      return;
    }
    process.stderr.write(
      `pixwarden: internal error: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = EXIT_REFUSED;
  }
}

await main(process.argv);
