/**
 * The one catalogue of error codes. A code is never reused for another meaning: add new codes,
 * retire old ones by leaving them here. `docs/errors.md` lists exactly these codes (a test
 * checks that the two agree).
 */

/** The broad kinds of failure; each maps to one error class below. */
export type ErrorKind =
  | 'invalid-input'
  | 'unsupported-format'
  | 'malformed-image'
  | 'limit-exceeded'
  | 'not-found'
  | 'conflict'
  | 'io'
  | 'forbidden'
  | 'internal';

interface CatalogueEntry {
  readonly kind: ErrorKind;
  /** HTTP status a service answers with. */
  readonly status: number;
  /** Short message safe to show a client; the detailed message may name values. */
  readonly publicMessage: string;
}

export const ERROR_CATALOGUE = {
  ERR_UNSUPPORTED_FORMAT: {
    kind: 'unsupported-format',
    status: 415,
    publicMessage: 'This image format is recognised but not supported yet.',
  },
  ERR_FORMAT_NOT_ALLOWED: {
    kind: 'unsupported-format',
    status: 415,
    publicMessage: 'This kind of file is not an allowed image format.',
  },
  ERR_MALFORMED: {
    kind: 'malformed-image',
    status: 422,
    publicMessage: 'The image structure is invalid.',
  },
  ERR_TRUNCATED: {
    kind: 'malformed-image',
    status: 422,
    publicMessage: 'The image ends before its structure is complete.',
  },
  ERR_CRC_MISMATCH: {
    kind: 'malformed-image',
    status: 422,
    publicMessage: 'A checksum inside the image does not match its data.',
  },
  ERR_OUTPUT_NOT_CLEAN: {
    kind: 'internal',
    status: 500,
    publicMessage: 'The cleaned output did not pass verification.',
  },
  ERR_OUTPUT_EXISTS: {
    kind: 'conflict',
    status: 409,
    publicMessage: 'The output file already exists.',
  },
  ERR_INPUT_NOT_FOUND: {
    kind: 'not-found',
    status: 404,
    publicMessage: 'The input was not found.',
  },
  ERR_IO: {
    kind: 'io',
    status: 500,
    publicMessage: 'A file could not be read or written.',
  },
  ERR_INVALID_ARGUMENT: {
    kind: 'invalid-input',
    status: 400,
    publicMessage: 'An argument is invalid.',
  },
  ERR_OUTPUT_CONFLICT: {
    kind: 'conflict',
    status: 409,
    publicMessage: 'Two inputs would be written to the same output, or an output is an input.',
  },
  ERR_FILE_SIZE_LIMIT: {
    kind: 'limit-exceeded',
    status: 413,
    publicMessage: 'The file is larger than allowed.',
  },
  ERR_EMPTY_INPUT: {
    kind: 'invalid-input',
    status: 400,
    publicMessage: 'The input is empty.',
  },
  ERR_PIXEL_LIMIT: {
    kind: 'limit-exceeded',
    status: 413,
    publicMessage: 'The image has more pixels than allowed.',
  },
  ERR_DIMENSION_LIMIT: {
    kind: 'limit-exceeded',
    status: 413,
    publicMessage: 'The image is wider or taller than allowed.',
  },
  ERR_FRAME_LIMIT: {
    kind: 'limit-exceeded',
    status: 413,
    publicMessage: 'The image has more frames than allowed.',
  },
  ERR_SEGMENT_SIZE_LIMIT: {
    kind: 'limit-exceeded',
    status: 413,
    publicMessage: 'A metadata block in the image is larger than allowed.',
  },
  ERR_SEGMENT_COUNT_LIMIT: {
    kind: 'limit-exceeded',
    status: 413,
    publicMessage: 'The image has more segments or chunks than allowed.',
  },
  ERR_INFLATE_LIMIT: {
    kind: 'limit-exceeded',
    status: 413,
    publicMessage: 'Compressed data in the image inflates past the allowed size.',
  },
  ERR_WORKER_CRASHED: {
    kind: 'internal',
    status: 500,
    publicMessage: 'The image could not be processed.',
  },
  ERR_WORKER_TIMEOUT: {
    kind: 'limit-exceeded',
    status: 503,
    publicMessage: 'Processing the image took too long.',
  },
  ERR_WORKER_MEMORY: {
    kind: 'limit-exceeded',
    status: 503,
    publicMessage: 'Processing the image needed too much memory.',
  },
  ERR_TYPE_MISMATCH: {
    kind: 'invalid-input',
    status: 415,
    publicMessage: 'The file is not of the type it was declared as.',
  },
  ERR_CONSENT_REQUIRED: {
    kind: 'forbidden',
    status: 403,
    publicMessage: 'This operation needs the person’s consent, which is not on record.',
  },
  ERR_PROCESSING_RESTRICTED: {
    kind: 'forbidden',
    status: 403,
    publicMessage: 'Processing is restricted for this person.',
  },
  ERR_DECRYPT: {
    kind: 'internal',
    status: 500,
    publicMessage: 'Stored data could not be read.',
  },
  ERR_SANDBOX_UNAVAILABLE: {
    kind: 'internal',
    status: 500,
    publicMessage: 'Image processing is not available.',
  },
  ERR_PURGE_HOOK: {
    kind: 'io',
    status: 502,
    publicMessage: 'A cache could not be told to drop deleted images.',
  },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Numbers an error can carry so that callers need not parse the message. */
export interface ErrorDetails {
  readonly value?: number | string;
  readonly limit?: number | string;
  readonly unit?: string;
}

/**
 * Base class of every error pixwarden throws on purpose. `code` is stable; `message` is for
 * logs and people and may name values; `publicMessage` is what a remote client should see.
 */
export class PixwardenError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly publicMessage: string;
  readonly value: number | string | undefined;
  readonly limit: number | string | undefined;
  readonly unit: string | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = new.target.name;
    const entry: CatalogueEntry = ERROR_CATALOGUE[code];
    this.code = code;
    this.status = entry.status;
    this.publicMessage = entry.publicMessage;
    this.value = details.value;
    this.limit = details.limit;
    this.unit = details.unit;
  }

  /** The JSON shape the CLI and the service print. */
  toJSON(): {
    code: ErrorCode;
    message: string;
    value?: number | string;
    limit?: number | string;
    unit?: string;
  } {
    return {
      code: this.code,
      message: this.message,
      ...(this.value === undefined ? {} : { value: this.value }),
      ...(this.limit === undefined ? {} : { limit: this.limit }),
      ...(this.unit === undefined ? {} : { unit: this.unit }),
    };
  }
}

/** The input (or an argument) is unusable for a reason other than its image structure. */
export class InvalidInputError extends PixwardenError {}

/** The bytes are a known format that pixwarden refuses or does not handle yet. */
export class UnsupportedFormatError extends PixwardenError {}

/** The container cannot be fully parsed; pixwarden never passes such bytes on. */
export class MalformedImageError extends PixwardenError {}

/** A size, count or other limit was exceeded. */
export class LimitExceededError extends PixwardenError {}

/** A path or object does not exist. */
export class NotFoundError extends PixwardenError {}

/** Writing would clash with something that exists. */
export class ConflictError extends PixwardenError {}

/** The operating system refused a read or a write. */
export class IoError extends PixwardenError {}

/** pixwarden itself failed a check it makes on its own output. */
export class InternalError extends PixwardenError {}

/** The operation is not allowed for this subject: no valid consent, or processing restricted. */
export class ForbiddenError extends PixwardenError {}

const CLASS_BY_KIND: Record<
  ErrorKind,
  new (code: ErrorCode, message: string, details?: ErrorDetails) => PixwardenError
> = {
  'invalid-input': InvalidInputError,
  'unsupported-format': UnsupportedFormatError,
  'malformed-image': MalformedImageError,
  'limit-exceeded': LimitExceededError,
  'not-found': NotFoundError,
  conflict: ConflictError,
  io: IoError,
  forbidden: ForbiddenError,
  internal: InternalError,
};

/** Builds the error of the class that the catalogue assigns to `code`. */
export function pixwardenError(
  code: ErrorCode,
  message: string,
  details: ErrorDetails = {},
): PixwardenError {
  const ErrorClass = CLASS_BY_KIND[ERROR_CATALOGUE[code].kind];
  return new ErrorClass(code, message, details);
}

/** Shorthand for the most common refusal: the bytes do not hold together. */
export function malformed(message: string, details: ErrorDetails = {}): PixwardenError {
  return pixwardenError('ERR_MALFORMED', message, details);
}

/** Shorthand for a structure that stops before it is complete. */
export function truncated(message: string, details: ErrorDetails = {}): PixwardenError {
  return pixwardenError('ERR_TRUNCATED', message, details);
}
