/**
 * A record of structures already walked in a buffer, so that verifying a clean copy does not
 * walk the same image data twice.
 *
 * When the CLI cleans a file it may build the clean copy around the image data in place, in
 * the same memory the input was read into. The image data (a JPEG scan, a run of PNG IDAT
 * chunks, GIF image blocks) then sits at the very same address in the output, unchanged, and
 * its walk (the search for the end of a JPEG scan, a CRC check) would give the same answer
 * again. Entries are keyed by absolute position in the underlying memory; `keepOnly` forgets
 * every entry outside the region known to be unchanged. A memo for other memory never matches.
 */
export class WalkMemo {
  private memory: ArrayBufferLike | null = null;
  private readonly ends = new Map<number, number>();

  /** Notes that the structure starting at `start` of `bytes` was walked and ends at `end`. */
  record(bytes: Uint8Array, start: number, end: number): void {
    if (this.memory !== bytes.buffer) {
      this.memory = bytes.buffer;
      this.ends.clear();
    }
    this.ends.set(bytes.byteOffset + start, bytes.byteOffset + end);
  }

  /** The end (relative to `bytes`) of a structure walked before at `start`, if any. */
  lookup(bytes: Uint8Array, start: number): number | undefined {
    if (this.memory !== bytes.buffer) return undefined;
    const end = this.ends.get(bytes.byteOffset + start);
    if (end === undefined || end - bytes.byteOffset > bytes.length) return undefined;
    return end - bytes.byteOffset;
  }

  /** Forgets every entry not wholly inside `[start, end)` of `bytes`. */
  keepOnly(bytes: Uint8Array, start: number, end: number): void {
    const from = bytes.byteOffset + start;
    const to = bytes.byteOffset + end;
    for (const [s, e] of this.ends) {
      if (s < from || e > to) this.ends.delete(s);
    }
  }

  clear(): void {
    this.ends.clear();
    this.memory = null;
  }
}
