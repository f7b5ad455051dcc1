/**
 * Joining the pieces of a clean file.
 *
 * By default the pieces are copied into a new buffer. A caller that owns the memory the input
 * was read into, with spare room around it, may let the clean copy be laid out in place: the
 * largest run of unchanged image data stays where it is, and the few new bytes before and after
 * it are written over the parts that were dropped. For a photo that is a few kilobytes written
 * instead of megabytes copied.
 */
import { concat } from './bounds.js';

/** Memory around the input that the strip may overwrite. */
export interface Workspace {
  /** Spare bytes before `bytes` in its underlying memory. */
  readonly before: number;
  /** Spare bytes after `bytes` in its underlying memory. */
  readonly after: number;
}

export interface Assembled {
  bytes: Uint8Array;
  /** The region of `bytes` that is the input's memory, unchanged; null when copied. */
  unchanged: { start: number; end: number } | null;
}

function totalLength(pieces: readonly Uint8Array[]): number {
  let length = 0;
  for (const piece of pieces) length += piece.length;
  return length;
}

function writeAt(memory: Uint8Array, pieces: readonly Uint8Array[], offset: number): void {
  let at = offset;
  for (const piece of pieces) {
    memory.set(piece, at);
    at += piece.length;
  }
}

/** Merges pieces that are adjacent views of the same memory. */
function mergeViews(pieces: readonly Uint8Array[]): Uint8Array[] {
  const merged: Uint8Array[] = [];
  // The run being extended: its memory, start and end; a view is made once the run ends.
  let memory: ArrayBufferLike | null = null;
  let start = 0;
  let end = 0;
  let first: Uint8Array | null = null;
  const close = (): void => {
    if (memory === null || first === null) return;
    merged.push(end - start === first.length ? first : new Uint8Array(memory, start, end - start));
    memory = null;
    first = null;
  };
  for (const piece of pieces) {
    if (piece.length === 0) continue;
    if (memory === piece.buffer && end === piece.byteOffset) {
      end += piece.length;
      continue;
    }
    close();
    memory = piece.buffer;
    start = piece.byteOffset;
    end = start + piece.length;
    first = piece;
  }
  close();
  return merged;
}

/**
 * Joins the pieces of a clean file built from `input`. With a workspace, lays the file out in
 * place around its largest unchanged run when the new bytes fit; otherwise copies.
 */
export function assemble(
  pieces: readonly Uint8Array[],
  input: Uint8Array,
  workspace?: Workspace,
): Assembled {
  const merged = mergeViews(pieces);
  if (workspace === undefined) return { bytes: concat(merged), unchanged: null };

  let anchor = -1;
  for (const [i, piece] of merged.entries()) {
    const inside =
      piece.buffer === input.buffer &&
      piece.byteOffset >= input.byteOffset &&
      piece.byteOffset + piece.length <= input.byteOffset + input.length;
    if (inside && (anchor === -1 || piece.length > (merged[anchor]?.length ?? 0))) anchor = i;
  }
  const run = merged[anchor];
  if (run === undefined) return { bytes: concat(merged), unchanged: null };

  const memory = new Uint8Array(
    input.buffer,
    input.byteOffset - workspace.before,
    workspace.before + input.length + workspace.after,
  );
  const head = merged.slice(0, anchor);
  const tail = merged.slice(anchor + 1);
  const headLength = totalLength(head);
  const runStart = run.byteOffset - memory.byteOffset;
  const start = runStart - headLength;
  const end = runStart + run.length + totalLength(tail);
  if (start < 0 || end > memory.length) return { bytes: concat(merged), unchanged: null };
  // Pieces that are views of this memory are copied out first: writing the layout may
  // overwrite where they are. The others (new segments, scrubbed profiles) are written directly.
  const own = (piece: Uint8Array): Uint8Array =>
    piece.buffer === memory.buffer ? Uint8Array.from(piece) : piece;
  const headPieces = head.map(own);
  const tailPieces = tail.map(own);
  writeAt(memory, headPieces, start);
  writeAt(memory, tailPieces, runStart + run.length);
  return {
    bytes: memory.subarray(start, end),
    unchanged: { start: headLength, end: headLength + run.length },
  };
}
