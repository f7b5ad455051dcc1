/**
 * Every length, offset and count read from a file passes through here. Files are hostile: a
 * length field can claim more bytes than exist, or point backwards, and a parser that trusts it
 * reads past the end or loops. `ByteView` checks each read against the buffer and names what
 * was being read when it refuses, so the error says which structure was cut short.
 */
import { truncated } from './errors.js';

export class ByteView {
  readonly bytes: Uint8Array;
  /** The structure this view belongs to, used in error messages ("PNG chunk IHDR"). */
  readonly what: string;
  private readonly dv: DataView;

  constructor(bytes: Uint8Array, what: string) {
    this.bytes = bytes;
    this.what = what;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Whether `length` bytes exist at `offset`. */
  has(offset: number, length: number): boolean {
    return offset >= 0 && length >= 0 && offset + length <= this.bytes.length;
  }

  /**
   * Throws `ERR_TRUNCATED` unless `length` bytes exist at `offset`. `part` names the field or
   * structure being read, for the message.
   */
  need(offset: number, length: number, part: string): void {
    if (!this.has(offset, length)) {
      const available = Math.max(0, this.bytes.length - Math.max(0, offset));
      throw truncated(
        `${this.what}: ${part} needs ${length} bytes at offset ${offset}, ${available} available`,
        { value: length, limit: available, unit: 'bytes' },
      );
    }
  }

  u8(offset: number, part: string): number {
    this.need(offset, 1, part);
    return this.dv.getUint8(offset);
  }

  u16be(offset: number, part: string): number {
    this.need(offset, 2, part);
    return this.dv.getUint16(offset, false);
  }

  u16le(offset: number, part: string): number {
    this.need(offset, 2, part);
    return this.dv.getUint16(offset, true);
  }

  u16(offset: number, littleEndian: boolean, part: string): number {
    this.need(offset, 2, part);
    return this.dv.getUint16(offset, littleEndian);
  }

  u24le(offset: number, part: string): number {
    this.need(offset, 3, part);
    return this.dv.getUint16(offset, true) | (this.dv.getUint8(offset + 2) << 16);
  }

  u32be(offset: number, part: string): number {
    this.need(offset, 4, part);
    return this.dv.getUint32(offset, false);
  }

  u32le(offset: number, part: string): number {
    this.need(offset, 4, part);
    return this.dv.getUint32(offset, true);
  }

  u32(offset: number, littleEndian: boolean, part: string): number {
    this.need(offset, 4, part);
    return this.dv.getUint32(offset, littleEndian);
  }

  /** A view of `length` bytes at `offset`, sharing memory with the file. */
  slice(offset: number, length: number, part: string): Uint8Array {
    this.need(offset, length, part);
    return this.bytes.subarray(offset, offset + length);
  }

  /** Bytes decoded as Latin-1, for four-character codes and ASCII signatures. */
  latin1(offset: number, length: number, part: string): string {
    return latin1(this.slice(offset, length, part));
  }

  /** Whether the bytes at `offset` equal `signature` (false, not an error, when out of range). */
  startsWith(signature: Uint8Array, offset = 0): boolean {
    if (!this.has(offset, signature.length)) return false;
    for (let i = 0; i < signature.length; i++) {
      if (this.bytes[offset + i] !== signature[i]) return false;
    }
    return true;
  }
}

/** Decodes bytes as Latin-1 (one character per byte). */
export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** Encodes an ASCII string as bytes. */
export function ascii(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'latin1'));
}

/** Joins byte arrays into one buffer. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}
