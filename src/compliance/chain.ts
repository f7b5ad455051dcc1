/**
 * The audit trail's hash chain, apart from where it is stored. Every entry holds its sequence
 * number, the hash of the entry before it and its content as canonical JSON; its own hash is
 * the SHA-256 of those three, so an entry cannot be edited, removed, moved or slipped in
 * without breaking the chain at that place. A tail cut off cleanly leaves a valid chain: only
 * a checkpoint kept elsewhere (a signed seq and hash) shows that entries are missing.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.js';

/** The hash an empty trail ends with: the first entry's `prevHash`. */
export const GENESIS_HASH = '0'.repeat(64);

/** One stored entry. */
export interface ChainRow {
  readonly seq: number;
  readonly prevHash: string;
  /** Canonical JSON of the entry's content, exactly as it was hashed. */
  readonly content: string;
  readonly hash: string;
}

/** The hash of an entry: SHA-256 over its sequence number, the previous hash and its content. */
export function entryHash(seq: number, prevHash: string, content: string): string {
  return createHash('sha256').update(`${seq}\n${prevHash}\n${content}`).digest('hex');
}

/** The next row after (`seq`, `hash`) for `content`. */
export function nextRow(last: { seq: number; hash: string } | null, content: unknown): ChainRow {
  const seq = (last?.seq ?? 0) + 1;
  const prevHash = last?.hash ?? GENESIS_HASH;
  const text = canonicalJson(content);
  return { seq, prevHash, content: text, hash: entryHash(seq, prevHash, text) };
}

/** The verdict of `pixwarden audit verify`. */
export interface ChainVerdict {
  valid: boolean;
  /** Entries read. */
  entries: number;
  /** The last entry's hash, for a checkpoint. */
  head: { seq: number; hash: string } | null;
  /** Where the chain first breaks, and how. */
  firstInvalid?: { seq: number; reason: string };
}

/**
 * Walks rows in sequence order and reports the first break: a gap or a repeat in the numbers,
 * an entry that does not follow the one before, content that does not match its hash, or
 * content that is not in canonical form (hashed text must be re-creatable from its value).
 */
export class ChainVerifier {
  private last: { seq: number; hash: string } | null = null;
  private count = 0;
  private broken: { seq: number; reason: string } | null = null;

  /** Feeds the next row; returns false once the chain is broken (later rows are not read). */
  add(row: ChainRow): boolean {
    if (this.broken !== null) return false;
    this.count++;
    const expected = (this.last?.seq ?? 0) + 1;
    const fail = (reason: string): boolean => {
      this.broken = { seq: row.seq, reason };
      return false;
    };
    if (row.seq !== expected)
      return fail(
        row.seq > expected
          ? `entries ${expected}–${row.seq - 1} are missing`
          : `entry ${row.seq} comes after entry ${expected - 1}`,
      );
    if (row.prevHash !== (this.last?.hash ?? GENESIS_HASH))
      return fail(`it does not follow entry ${expected - 1}: its previous hash differs`);
    if (entryHash(row.seq, row.prevHash, row.content) !== row.hash)
      return fail('its content or hash was changed: they no longer match');
    let value: unknown;
    try {
      value = JSON.parse(row.content);
    } catch {
      return fail('its content is not JSON');
    }
    if (canonicalJson(value) !== row.content) return fail('its content is not canonical JSON');
    this.last = { seq: row.seq, hash: row.hash };
    return true;
  }

  verdict(): ChainVerdict {
    return {
      valid: this.broken === null,
      entries: this.count,
      head: this.last,
      ...(this.broken === null ? {} : { firstInvalid: this.broken }),
    };
  }
}
