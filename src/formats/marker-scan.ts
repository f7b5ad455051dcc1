/**
 * Finding the end of a JPEG scan: the first FF byte followed by a marker code (not a stuffed
 * 00, not a restart marker D0..D7, not a fill byte FF, not a code no standard assigns). Entropy
 * data holds an FF every 256 bytes or so, which makes this the one loop in the lossless strip
 * whose cost grows with the picture.
 *
 * Two implementations give the same answer. For bytes that live in the scanner's own memory (the
 * CLI reads files straight into it) a small WebAssembly function compares sixteen bytes at a
 * time. For any other bytes, `Buffer.indexOf` finds each FF. The module is written out below,
 * instruction by instruction; its text form is:
 *
 *   (func $scan (param $p i32) (param $end i32) (result i32)
 *     (local $mask i32) (local $i i32) (local $ff v128)
 *     ff = i8x16.splat(255)
 *     block $vector loop                       ;; sixteen bytes at a time while p + 16 < end
 *       br_if $vector (p + 16 >= end)
 *       mask = i8x16.bitmask(i8x16.eq(v128.load(p), ff))
 *       if (mask) loop                         ;; each FF in the block
 *         i = p + ctz(mask)
 *         if (table[load8_u(i + 1)]) return i
 *         mask &= mask - 1
 *         br_if 0 (mask)
 *       end end
 *       p += 16; br 0
 *     end end
 *     block $tail loop                         ;; the last bytes one at a time
 *       br_if $tail (p + 1 >= end)
 *       if (load8_u(p) == 255) if (table[load8_u(p + 1)]) return p
 *       p += 1; br 0
 *     end end
 *     return -1)
 *
 * with `table`, the 256 bytes at address 0, holding 1 for every marker code.
 */

/** Where data may start in scanner memory: the marker table sits below. */
const dataStart = 1024;
const pageBytes = 65_536;

function isMarkerCode(code: number): boolean {
  return (
    (code >= 0xc0 && code <= 0xcf) ||
    (code >= 0xd8 && code <= 0xdf) ||
    (code >= 0xe0 && code <= 0xfe)
  );
}

function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(text: string): number[] {
  return [...uleb(text.length), ...Buffer.from(text, 'latin1')];
}

// Opcodes (WebAssembly core specification 2.0, with the fixed-width SIMD proposal).
const BLOCK = 0x02,
  LOOP = 0x03,
  IF = 0x04,
  END = 0x0b,
  BR = 0x0c,
  BR_IF = 0x0d,
  RETURN = 0x0f;
const VOID = 0x40,
  I32 = 0x7f,
  V128 = 0x7b;
const GET = 0x20,
  SET = 0x21,
  TEE = 0x22;
const LOAD8_U = 0x2d,
  CONST = 0x41,
  EQ = 0x46,
  GE_U = 0x4f,
  CTZ = 0x68,
  ADD = 0x6a,
  SUB = 0x6b,
  AND = 0x71;
const SIMD = 0xfd,
  V128_LOAD = 0x00,
  I8X16_SPLAT = 0x0f,
  I8X16_EQ = 0x23,
  I8X16_BITMASK = 0x64;
const P = 0,
  END_ = 1,
  MASK = 2,
  I = 3,
  FF = 4;

function moduleBytes(): Uint8Array {
  // prettier-ignore
  const body = [
    ...vector([[2, I32], [1, V128]]),
    CONST, 0xff, 0x01, SIMD, I8X16_SPLAT, SET, FF,                  // ff = splat(255)
    BLOCK, VOID, LOOP, VOID,                                        // $vector
    GET, P, CONST, 16, ADD, GET, END_, GE_U, BR_IF, 1,              //   p + 16 >= end: leave
    GET, P, SIMD, V128_LOAD, 0, 0, GET, FF, SIMD, I8X16_EQ,         //   compare 16 bytes to FF
    SIMD, ...uleb(I8X16_BITMASK), TEE, MASK,
    IF, VOID, LOOP, VOID,                                           //   each FF found
    GET, P, GET, MASK, CTZ, ADD, TEE, I,                            //     i = p + ctz(mask)
    LOAD8_U, 0, 1, LOAD8_U, 0, 0,                                   //     table[bytes[i + 1]]
    IF, VOID, GET, I, RETURN, END,                                  //     a marker: return i
    GET, MASK, GET, MASK, CONST, 1, SUB, AND, TEE, MASK, BR_IF, 0,  //     mask &= mask - 1
    END, END,
    GET, P, CONST, 16, ADD, SET, P, BR, 0,                          //   p += 16
    END, END,
    BLOCK, VOID, LOOP, VOID,                                        // $tail
    GET, P, CONST, 1, ADD, GET, END_, GE_U, BR_IF, 1,               //   p + 1 >= end: leave
    GET, P, LOAD8_U, 0, 0, CONST, 0xff, 0x01, EQ,                   //   bytes[p] == 255 and
    IF, VOID, GET, P, LOAD8_U, 0, 1, LOAD8_U, 0, 0,                 //   table[bytes[p + 1]]:
    IF, VOID, GET, P, RETURN, END, END,                             //   return p
    GET, P, CONST, 1, ADD, SET, P, BR, 0,                           //   p += 1
    END, END,
    CONST, 0x7f,                                                    // return -1
    END,
  ];
  const table = Array.from({ length: 256 }, (_, code) => (isMarkerCode(code) ? 1 : 0));
  // prettier-ignore
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,                  // "\0asm", version 1
    ...section(1, vector([[0x60, 2, I32, I32, 1, I32]])),             // type: (i32, i32) -> i32
    ...section(3, vector([[0]])),                                     // one function of that type
    ...section(5, vector([[0x00, 1]])),                               // memory: one page to start
    ...section(7, vector([[...name('memory'), 0x02, 0], [...name('scan'), 0x00, 0]])),
    ...section(10, vector([[...uleb(body.length), ...body]])),        // the code
    ...section(11, vector([[0x00, CONST, 0, END, ...uleb(table.length), ...table]])), // table at 0
  ]);
}

interface Scanner {
  memory: WebAssembly.Memory;
  scan: (start: number, end: number) => number;
}

let scanner: Scanner | null | undefined;

function load(): Scanner | null {
  if (scanner !== undefined) return scanner;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()));
    const { memory, scan } = instance.exports as unknown as Scanner;
    scanner = { memory, scan };
  } catch {
    // A runtime without WebAssembly SIMD: every scan takes the Buffer.indexOf path.
    scanner = null;
  }
  return scanner;
}

/**
 * A buffer of `size` bytes inside the scanner's memory, so that scans of data read into it run
 * at vector speed. Growing the memory detaches buffers handed out before, so a caller holds at
 * most one at a time. Falls back to an ordinary buffer when the scanner cannot be loaded.
 */
export function scannerBuffer(size: number): Buffer {
  const loaded = load();
  if (loaded === null) return Buffer.allocUnsafe(size);
  const needed = dataStart + size;
  const have = loaded.memory.buffer.byteLength;
  if (needed > have) loaded.memory.grow(Math.ceil((needed - have) / pageBytes));
  return Buffer.from(loaded.memory.buffer, dataStart, size);
}

/**
 * The offset of the first FF at or after `from` that starts a marker, or -1. An FF in the last
 * byte has no code after it and does not count.
 */
export function findMarker(bytes: Uint8Array, from: number): number {
  const loaded = load();
  if (loaded !== null && bytes.buffer === loaded.memory.buffer) {
    // The function returns an i32: read it unsigned, so offsets past 2 GiB stay offsets.
    const found = loaded.scan(bytes.byteOffset + from, bytes.byteOffset + bytes.length) >>> 0;
    return found === 0xffffffff ? -1 : found - bytes.byteOffset;
  }
  let pos = from;
  for (;;) {
    const ff = bytes.indexOf(0xff, pos);
    if (ff < 0 || ff + 1 >= bytes.length) return -1;
    if (isMarkerCode(bytes[ff + 1] ?? 0)) return ff;
    pos = ff + 1;
  }
}

/** Whether `code`, after an FF byte, is a marker (see the module comment). */
export { isMarkerCode };
