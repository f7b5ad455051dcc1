/** Turning command-line paths into the list of files to work on. */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { pixwardenError } from '../errors.js';
import type { PixwardenError } from '../errors.js';

export interface InputFile {
  /** The path as shown to the user (`-` for standard input). */
  display: string;
  /** Absolute path, or null for standard input. */
  absolute: string | null;
  /** Where the output goes relative to DIR: the base name for a file argument, the path
   * inside the folder for a file found in a folder argument. */
  relative: string;
}

export type WalkEntry = InputFile | { display: string; error: PixwardenError };

/**
 * Expands arguments: a file stays itself, a folder is walked recursively in sorted order
 * (hidden entries skipped, symbolic links not followed, `skipDir` not entered), `-` is standard
 * input. A missing path becomes an entry with `ERR_INPUT_NOT_FOUND`.
 */
export async function walk(args: readonly string[], skipDir: string | null): Promise<WalkEntry[]> {
  const entries: WalkEntry[] = [];
  for (const arg of args) {
    if (arg === '-') {
      entries.push({ display: '-', absolute: null, relative: 'stdin' });
      continue;
    }
    let info;
    try {
      info = await stat(arg);
    } catch {
      entries.push({
        display: arg,
        error: pixwardenError('ERR_INPUT_NOT_FOUND', `${arg}: no such file or folder`),
      });
      continue;
    }
    const absolute = path.resolve(arg);
    if (info.isDirectory()) {
      await walkFolder(absolute, arg, '', skipDir, entries);
    } else if (info.isFile()) {
      entries.push({ display: arg, absolute, relative: path.basename(absolute) });
    } else {
      entries.push({
        display: arg,
        error: pixwardenError('ERR_INPUT_NOT_FOUND', `${arg}: not a regular file or folder`),
      });
    }
  }
  return entries;
}

async function walkFolder(
  folder: string,
  shown: string,
  relative: string,
  skipDir: string | null,
  entries: WalkEntry[],
): Promise<void> {
  // The output folder is not walked when it lies inside an input folder (its files would be
  // cleaned again); an input folder that is the output folder itself is walked, and each of its
  // files is then refused as its own output.
  if (
    relative !== '' &&
    skipDir !== null &&
    (await realpath(folder).catch(() => folder)) === skipDir
  )
    return;
  let names: string[];
  try {
    names = (await readdir(folder)).sort();
  } catch {
    entries.push({
      display: shown,
      error: pixwardenError('ERR_IO', `${shown}: folder cannot be read`),
    });
    return;
  }
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const absolute = path.join(folder, name);
    const display = path.join(shown, name);
    const rel = relative === '' ? name : path.join(relative, name);
    const info = await lstat(absolute).catch(() => null);
    if (info === null || info.isSymbolicLink()) continue;
    if (info.isDirectory()) await walkFolder(absolute, display, rel, skipDir, entries);
    else if (info.isFile()) entries.push({ display, absolute, relative: rel });
  }
}
