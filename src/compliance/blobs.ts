/**
 * The blob store: every stored image (an original or a variant) as one encrypted file under
 * `blobs/` in the data folder, named by object id and variant, never by anything of the
 * person's. Writes are atomic: a temporary file in the same folder, written and fsynced, then
 * renamed over the name, then the folder fsynced, so that a crash leaves the whole file or
 * none.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { pixwardenError } from '../errors.js';
import { syncFolder } from '../fsync.js';
import { openBlob, sealBlob } from './crypto.js';

const safeName = /^[A-Za-z0-9_-]{1,64}$/;

/** The file that says a folder is this store (and not an empty mount point). */
const markerName = '.pixwarden-blobs';

/** What a blob is bound to: it opens only as this object's this variant. */
export function blobContext(objectId: string, variant: string): string {
  return `${objectId}\n${variant}`;
}

export class BlobStore {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'blobs');
  }

  private fileOf(objectId: string, variant: string): string {
    if (!safeName.test(objectId) || !safeName.test(variant))
      throw pixwardenError('ERR_INVALID_ARGUMENT', 'a blob is named by a safe id and variant');
    return path.join(this.root, objectId.slice(0, 2), `${objectId}.${variant}`);
  }

  /**
   * Seals and writes a blob atomically.
   * @returns the SHA-256 of the bytes stored (the sealed file), for the registry.
   */
  write(objectId: string, variant: string, plain: Uint8Array, dataKey: Uint8Array): string {
    const file = this.fileOf(objectId, variant);
    const folder = path.dirname(file);
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const sealed = sealBlob(dataKey, plain, blobContext(objectId, variant));
    const temp = path.join(folder, `.tmp-${randomBytes(8).toString('hex')}`);
    const fd = openSync(temp, 'wx', 0o600);
    try {
      let written = 0;
      while (written < sealed.length) written += writeSync(fd, sealed, written);
      fsyncSync(fd);
    } catch (error: unknown) {
      closeSync(fd);
      rmSync(temp, { force: true });
      throw pixwardenError('ERR_IO', `a blob could not be written: ${(error as Error).message}`);
    }
    closeSync(fd);
    renameSync(temp, file);
    syncFolder(folder);
    return createHash('sha256').update(sealed).digest('hex');
  }

  /**
   * Reads and opens a blob.
   * @throws ERR_INPUT_NOT_FOUND when it is not there; ERR_DECRYPT when it does not open.
   */
  read(objectId: string, variant: string, dataKey: Uint8Array): Buffer {
    let sealed: Buffer;
    try {
      sealed = readFileSync(this.fileOf(objectId, variant));
    } catch {
      throw pixwardenError('ERR_INPUT_NOT_FOUND', `no stored blob ${objectId}.${variant}`);
    }
    return openBlob(dataKey, sealed, blobContext(objectId, variant));
  }

  /** Removes a blob, durably; a blob already gone is no error. */
  remove(objectId: string, variant: string): void {
    const file = this.fileOf(objectId, variant);
    rmSync(file, { force: true });
    try {
      syncFolder(path.dirname(file));
    } catch {
      // The folder is gone as well.
    }
  }

  /**
   * Whether the store's folder is there: its marker file, written when the store was made,
   * is. A folder that is missing or empty (a volume not mounted) has none.
   */
  present(): boolean {
    return statSync(path.join(this.root, markerName), { throwIfNoEntry: false })?.isFile() === true;
  }

  /** Makes the store's folder and its marker (for a registry that records no image yet). */
  initialise(): void {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(this.root, markerName), 'pixwarden blob store\n', { mode: 0o600 });
    syncFolder(this.root);
  }

  /**
   * Every blob file on disk, as `folder/objectId.variant` names: what a storage scan looks at.
   * @throws ERR_IO when a folder of the store cannot be read (a scan that saw nothing must
   *   not be taken for an empty store).
   */
  list(): string[] {
    const read = (folder: string): string[] => {
      try {
        return readdirSync(folder);
      } catch (error: unknown) {
        if (folder === this.root && (error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw pixwardenError(
          'ERR_IO',
          `the blob folder ${folder} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
    };
    // Only the two-character folders are the store's; anything else there (a .DS_Store, a
    // file someone left) is not a blob.
    return read(this.root)
      .filter(
        (folder) =>
          /^[A-Za-z0-9_-]{2}$/.test(folder) &&
          statSync(path.join(this.root, folder), { throwIfNoEntry: false })?.isDirectory() === true,
      )
      .flatMap((folder) =>
        read(path.join(this.root, folder)).map((name) => path.join(folder, name)),
      );
  }

  /**
   * Every file under the store with what its name says: a blob (`objectId`, `variant`) or a
   * temporary file a write left behind (`variant` null), and when it was last written.
   */
  scan(): BlobFile[] {
    return this.list().flatMap((name): BlobFile[] => {
      const file = path.join(this.root, name);
      let modified: number;
      try {
        modified = statSync(file).mtimeMs;
      } catch {
        return []; // removed meanwhile
      }
      const base = path.basename(name);
      const dot = base.indexOf('.');
      if (dot <= 0) return [{ file, objectId: base, variant: null, modified }];
      return [{ file, objectId: base.slice(0, dot), variant: base.slice(dot + 1), modified }];
    });
  }

  /** Removes a file `scan` found, durably. */
  removeFile(file: string): void {
    rmSync(file, { force: true });
    syncFolder(path.dirname(file));
  }
}

export interface BlobFile {
  readonly file: string;
  readonly objectId: string;
  /** null for a temporary file (`.tmp-…`). */
  readonly variant: string | null;
  readonly modified: number;
}
