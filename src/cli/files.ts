/**
 * Reading inputs and writing outputs. The CLI handles one file at a time, so plain synchronous
 * calls are the fastest way through the kernel: an asynchronous read or write of a large file
 * costs a thread-pool round trip per chunk.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import type { Workspace } from '../assemble.js';
import { syncFolder } from '../fsync.js';
import { PixwardenError, pixwardenError } from '../errors.js';
import { scannerBuffer } from '../formats/marker-scan.js';
import { checkFileSize } from '../limits.js';
import type { InputFile } from './walk.js';

/** Spare room kept around each input read into a `ReadBuffer` (see `Workspace`). */
const spareBytes = 256 * 1024;

/**
 * One buffer reused for every input, with spare room around the file, so that a clean copy can
 * be laid out in place (`Workspace`) and no buffer is allocated per file. It lives in the JPEG
 * marker scanner's memory, so scans of what is read run at vector speed. The bytes it returns
 * are valid until the next read.
 */
export class ReadBuffer {
  private memory: Buffer = Buffer.allocUnsafe(0);

  /** @throws ERR_INPUT_NOT_FOUND, ERR_IO, ERR_FILE_SIZE_LIMIT (before anything is read) */
  read(
    input: InputFile,
    maxFileBytes: number,
  ): { bytes: Uint8Array; workspace: Workspace | undefined } {
    if (input.absolute === null) throw new Error('standard input is read with readInput');
    let fd: number;
    try {
      // Without O_NONBLOCK, opening a FIFO put where a file was would wait for a writer forever.
      fd = openSync(input.absolute, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error: unknown) {
      throw readError(error);
    }
    try {
      const info = fstatSync(fd);
      if (!info.isFile()) throw pixwardenError('ERR_INPUT_NOT_FOUND', 'not a regular file');
      const size = info.size;
      checkFileSize(size, maxFileBytes);
      if (this.memory.length < size + 2 * spareBytes)
        this.memory = scannerBuffer(size + 2 * spareBytes);
      // Read the size fstat gave. A file that changes while it is read yields a prefix or a
      // shorter file: either parses whole or is refused, and nothing half-read is written.
      let length = 0;
      while (length < size) {
        const n = readSync(fd, this.memory, spareBytes + length, size - length, null);
        if (n === 0) break;
        length += n;
      }
      const bytes = this.memory.subarray(spareBytes, spareBytes + length);
      return {
        bytes,
        workspace: { before: spareBytes, after: this.memory.length - spareBytes - length },
      };
    } catch (error: unknown) {
      if (error instanceof PixwardenError) throw error;
      throw readError(error);
    } finally {
      closeSync(fd);
    }
  }
}

function readError(error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return pixwardenError('ERR_INPUT_NOT_FOUND', 'no such file');
  return pixwardenError('ERR_IO', `cannot be read (${code ?? 'unknown error'})`);
}

/**
 * Reads a whole input into a new buffer (standard input, or a file for inspect).
 * @throws ERR_INPUT_NOT_FOUND, ERR_IO, ERR_FILE_SIZE_LIMIT (as soon as the size is known to be
 *   over: from the file's size, or while standard input is still arriving)
 */
export async function readInput(input: InputFile, maxFileBytes: number): Promise<Uint8Array> {
  if (input.absolute === null) return readStdin(maxFileBytes);
  try {
    const info = statSync(input.absolute);
    if (!info.isFile()) throw pixwardenError('ERR_INPUT_NOT_FOUND', 'not a regular file');
    checkFileSize(info.size, maxFileBytes);
    return readFileSync(input.absolute);
  } catch (error: unknown) {
    if (error instanceof PixwardenError) throw error;
    throw readError(error);
  }
}

async function readStdin(maxFileBytes: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    // The rest of standard input is left unread: the process ends after the refusal.
    checkFileSize(size, maxFileBytes);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export interface WriteOptions {
  /** Replace an existing file (through a temporary file and a rename). */
  replace: boolean;
  /** fsync the file and its folder: an in-place rewrite must survive a crash. */
  durable: boolean;
  /** File mode to give the output. */
  mode?: number;
  /** Owner to give the output, where the process may (as root, or its own). */
  owner?: { uid: number; gid: number };
}

const madeFolders = new Set<string>();
/** Temporary names are unique per thread (pid, thread and counter) and created exclusively. */
let tempCounter = 0;

/**
 * Creates `folder` and its missing parents, one level at a time. (Node's recursive mkdir can
 * spin forever on some special file systems such as /proc; a walk bounded by the depth of the
 * path cannot.)
 * @throws ERR_IO when a part of the path exists but is not a folder, or cannot be created.
 */
function ensureFolder(folder: string): void {
  if (madeFolders.has(folder)) return;
  try {
    makeFolder(folder);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(folder) === folder)
      throw folderError(folder, error);
    ensureFolder(path.dirname(folder));
    try {
      makeFolder(folder);
    } catch (again: unknown) {
      throw folderError(folder, again);
    }
  }
  if (!statSync(folder).isDirectory()) {
    throw pixwardenError('ERR_IO', `${folder} exists and is not a folder`);
  }
  madeFolders.add(folder);
}

/** mkdir that accepts a folder made meanwhile by another thread or process. */
function makeFolder(folder: string): void {
  try {
    mkdirSync(folder);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function folderError(folder: string, error: unknown): PixwardenError {
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
  return pixwardenError('ERR_IO', `${folder}: the folder cannot be made (${code})`);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

/**
 * Writes `bytes` to `target`.
 *
 * A new file is created exclusively (an existing name is refused, never truncated) and removed
 * again if the write fails. A replacement goes through a temporary file in the same folder and
 * a rename, so the old file stays whole until the new one is complete; with `durable` both the
 * file and the folder are fsynced.
 * @throws ERR_OUTPUT_EXISTS, ERR_IO
 */
export function writeOutput(target: string, bytes: Uint8Array, options: WriteOptions): void {
  const folder = path.dirname(target);
  // The temporary name does not repeat the target's: a name near the file system's length
  // limit must not fail only because of what is added to it.
  const file = options.replace
    ? path.join(folder, `.pixwarden-${process.pid}-${threadId}-${++tempCounter}.tmp`)
    : target;
  let fd: number | null = null;
  try {
    ensureFolder(folder);
    fd = openSync(file, 'wx', options.mode ?? 0o644);
    // The mode given to open is narrowed by the umask; a mode to keep is set as it is.
    if (options.mode !== undefined) fchmodSync(fd, options.mode);
    writeAll(fd, bytes);
    if (options.owner !== undefined) keepOwner(fd, options.owner);
    if (options.durable) fsyncSync(fd);
    closeSync(fd);
    fd = null;
    if (options.replace) {
      renameSync(file, target);
      if (options.durable) syncFolder(folder);
    }
  } catch (error: unknown) {
    if (error instanceof PixwardenError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (fd !== null) {
      closeSync(fd);
      unlinkQuietly(file);
    } else if (options.replace) {
      unlinkQuietly(file);
    }
    if (code === 'EEXIST' && !options.replace)
      throw pixwardenError(
        'ERR_OUTPUT_EXISTS',
        `${target} already exists (use --overwrite to replace it)`,
      );
    throw pixwardenError('ERR_IO', `${target}: cannot be written (${code ?? 'unknown error'})`);
  }
}

function keepOwner(fd: number, owner: { uid: number; gid: number }): void {
  try {
    fchownSync(fd, owner.uid, owner.gid);
  } catch {
    // Only root may give a file away; others keep ownership of what they write.
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}

/** Whether two paths name the same file (same device and inode); false if either is missing. */
export function sameFile(a: string, b: string): boolean {
  try {
    const fa = statSync(a);
    const fb = statSync(b);
    return fa.dev === fb.dev && fa.ino === fb.ino;
  } catch {
    return false;
  }
}
