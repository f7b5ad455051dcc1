/** The interface every container module implements, and the pieces they share. */
import type { Limits } from '../limits.js';
import type { Finding, ImageFormat, PartCategory } from '../types.js';
import type { WalkMemo } from './memo.js';

/**
 * What a part of the input is for:
 * - `image`: needed to decode or display the picture; copied unchanged;
 * - `exif`: an EXIF block; only the tags the policy keeps survive, rewritten;
 * - `icc`: (a piece of) the colour profile; kept scrubbed or dropped by policy;
 * - `drop`: everything else; never copied.
 */
export type PartRole = 'image' | 'exif' | 'icc' | 'drop';

/** One segment, chunk or block of the input, by its byte range. */
export interface Part {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly role: PartRole;
  /** For dropped parts: what kind of data went. */
  readonly category: PartCategory;
  /**
   * For kept parts that carry more than decoding needs (a table nothing refers to, a chunk
   * longer than its fixed size): the minimal form to write instead. A clean file has none.
   */
  readonly replacement?: Uint8Array;
}

/** Metadata kinds that inspect decodes. */
export type BlockKind = 'exif' | 'xmp' | 'iptc' | 'text' | 'comment' | 'thumbnail';

/** A metadata payload located by the container code, already bounded in size. */
export interface MetadataBlock {
  readonly kind: BlockKind;
  /** Where it was found: `APP1 Exif`, `iTXt`, `XMP application extension`. */
  readonly name: string;
  /** For PNG text, the keyword; for other blocks, absent. */
  readonly keyword?: string;
  readonly data: Uint8Array;
  /** For PNG text, the decoded text (inflated here, under a cap); comments stay bytes. */
  readonly text?: string;
}

/** The result of parsing a container fully. */
export interface ParsedImage {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly parts: readonly Part[];
  /** The TIFF payload of the first EXIF block, if any. */
  readonly exif: Uint8Array | null;
  /** The whole ICC profile (assembled and inflated), if any, or why it could not be read. */
  readonly icc: Uint8Array | { readonly problem: string } | null;
  /** Bytes after the end of the image (after EOI, IEND, the GIF trailer, the RIFF size), and
   * what they look like (`ZIP`, `JPEG`, `padding`, …). */
  readonly trailer: {
    readonly start: number;
    readonly length: number;
    readonly kind: string;
  } | null;
  /** Metadata payloads for inspect to decode. */
  readonly blocks: readonly MetadataBlock[];
  /** What the container itself shows: thumbnails, manifests, oddities of structure. */
  readonly findings: readonly Finding[];
}

/** What the generic strip step hands back to a container to write into the clean file. */
export interface Carry {
  /** A minimal TIFF structure (Orientation and credits) or null. */
  readonly exif: Uint8Array | null;
  /** A scrubbed ICC profile or null. */
  readonly icc: Uint8Array | null;
}

/**
 * How much a parse decodes: `strip` only what the clean copy needs (text that may hold an
 * orientation), `inspect` every text it can, under the inflation caps.
 */
export type ParseDetail = 'strip' | 'inspect';

export interface ParseOptions {
  /** Long walks of image data are recorded here, and skipped where it already knows them. */
  readonly memo?: WalkMemo | undefined;
  /** Default `strip`. */
  readonly detail?: ParseDetail;
  /** Default `DEFAULT_LIMITS`. */
  readonly limits?: Limits;
}

export interface FormatHandler {
  readonly format: ImageFormat;
  /**
   * Parses the whole container, every length bounded by the file, the lossless limits checked
   * as soon as a header or a count passes them.
   * @throws ERR_MALFORMED, ERR_TRUNCATED or ERR_CRC_MISMATCH when it cannot be fully parsed;
   *   ERR_PIXEL_LIMIT, ERR_FRAME_LIMIT, ERR_SEGMENT_SIZE_LIMIT or ERR_SEGMENT_COUNT_LIMIT.
   */
  parse(bytes: Uint8Array, options?: ParseOptions): ParsedImage;
  /**
   * Lays out a clean file as pieces: views of the input's image parts, unchanged, and the new
   * parts that `carry` asks for. Joining the pieces gives the file.
   */
  build(bytes: Uint8Array, parsed: ParsedImage, carry: Carry): Uint8Array[];
}
