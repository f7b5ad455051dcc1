/** Turning command-line paths into the list of files to work on. */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { pixwardenError } from '../errors.js';
import type { PixwardenError } from '../errors.js';

export interface InputFile {
  /** The path as shown to the user (`-` for standard input). */
  display: string;
  /** Absolute path, or null for standard input. */
  absolute: string | null;
  /**
   * Where the output goes relative to DIR: the base name for a file argument, the path inside
   * the folder for a file found in a folder argument.
   */
  relative: string;
  /** For an in-place clean: the file's hard links before anything was written. */
  links?: number;
}

export type WalkEntry = InputFile | { display: string; error: PixwardenError };

/**
 * Expands arguments: a file stays itself, a folder is walked recursively in sorted order
 * (hidden entries skipped, symbolic links not followed, `skipDir` not entered), `-` is standard
 * input. A missing path becomes an entry with `ERR_INPUT_NOT_FOUND`.
 */
export function walk(args: readonly string[], skipDir: string | null): WalkEntry[] {
  const entries: WalkEntry[] = [];
  for (const arg of args) {
    if (arg === '-') {
      entries.push({ display: '-', absolute: null, relative: 'stdin' });
      continue;
    }
    let info;
    try {
      info = statSync(arg);
    } catch (error: unknown) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        entries.push({
          display: arg,
          error: pixwardenError('ERR_IO', `cannot be read (${code ?? 'unknown error'})`),
        });
        continue;
      }
      entries.push({
        display: arg,
        error: pixwardenError('ERR_INPUT_NOT_FOUND', 'no such file or folder'),
      });
      continue;
    }
    const absolute = path.resolve(arg);
    if (info.isDirectory()) {
      walkFolder(absolute, arg, '', skipDir, entries);
    } else if (info.isFile()) {
      entries.push({ display: arg, absolute, relative: path.basename(absolute) });
    } else {
      entries.push({
        display: arg,
        error: pixwardenError('ERR_INPUT_NOT_FOUND', 'not a regular file or folder'),
      });
    }
  }
  return entries;
}

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function walkFolder(
  folder: string,
  shown: string,
  relative: string,
  skipDir: string | null,
  entries: WalkEntry[],
): void {
  // The output folder is not walked when it lies inside an input folder (its files would be
  // cleaned again). An input folder that is itself the output folder is walked, and each of its
  // files is then refused as its own output.
  if (relative !== '' && skipDir !== null && realpathOrSelf(folder) === skipDir) return;
  let children: Dirent[];
  try {
    children = readdirSync(folder, { withFileTypes: true }).sort(byName);
  } catch {
    entries.push({
      display: shown,
      error: pixwardenError('ERR_IO', 'folder cannot be read'),
    });
    return;
  }
  for (const child of children) {
    if (child.name.startsWith('.')) continue;
    const absolute = path.join(folder, child.name);
    const display = path.join(shown, child.name);
    const rel = relative === '' ? child.name : path.join(relative, child.name);
    // The type comes from the listing itself: a symbolic link is neither a file nor a folder.
    if (child.isDirectory()) walkFolder(absolute, display, rel, skipDir, entries);
    else if (child.isFile()) entries.push({ display, absolute, relative: rel });
  }
}

export function realpathOrSelf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}
