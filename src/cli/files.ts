/** Reading inputs and writing outputs so that nothing half-written is ever left behind. */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { PixwardenError, pixwardenError } from '../errors.js';
import type { InputFile } from './walk.js';

export async function readInput(input: InputFile): Promise<Uint8Array> {
  if (input.absolute === null) return readStdin();
  try {
    return await readFile(input.absolute);
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw pixwardenError('ERR_INPUT_NOT_FOUND', `${input.display}: no such file`);
    throw pixwardenError('ERR_IO', `${input.display}: cannot be read (${code ?? 'unknown error'})`);
  }
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface WriteOptions {
  overwrite: boolean;
  /** fsync the file before it takes its name (in-place rewrites must survive a crash). */
  durable: boolean;
  /** File mode to give the output. */
  mode?: number;
}

/**
 * Writes `bytes` to `target` through a temporary file in the same folder, then gives it its
 * name: by rename when overwriting is allowed, by link (which refuses an existing name)
 * otherwise. A failure at any step removes the temporary file.
 * @throws ERR_OUTPUT_EXISTS, ERR_IO
 */
export async function writeOutput(
  target: string,
  bytes: Uint8Array,
  options: WriteOptions,
): Promise<void> {
  const folder = path.dirname(target);
  const temp = path.join(folder, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(folder, { recursive: true });
    const handle = await open(temp, 'wx', options.mode ?? 0o644);
    try {
      await handle.writeFile(bytes);
      if (options.mode !== undefined) await handle.chmod(options.mode);
      if (options.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.overwrite) {
      await rename(temp, target);
    } else {
      await link(temp, target);
      await unlink(temp);
    }
    if (options.durable) await syncFolder(folder);
  } catch (error: unknown) {
    await unlink(temp).catch(() => undefined);
    if (error instanceof PixwardenError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw pixwardenError(
        'ERR_OUTPUT_EXISTS',
        `${target} already exists (use --overwrite to replace it)`,
      );
    throw pixwardenError('ERR_IO', `${target}: cannot be written (${code ?? 'unknown error'})`);
  }
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The mode bits of an existing file, to keep them on an in-place rewrite. */
export async function fileMode(file: string): Promise<number> {
  return (await stat(file)).mode & 0o7777;
}
