/**
 * The audit trail: append-only, hash-chained (see `chain.ts`), one writer at a time, so that
 * concurrent processes cannot fork the chain. An entry records what was done and why, never
 * metadata values, file names or the caller's ids: the subject appears as its pseudonym.
 *
 * Checkpoints sign the head of the chain (Ed25519). A checkpoint exported to a file kept
 * elsewhere is what shows a cut-off tail; the signing key lives in the data folder, so a
 * signature only protects against someone who can write the database but not that folder.
 */
import { generateKeyPairSync, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createSecretFile } from '../fsync.js';
import path from 'node:path';
import { pixwardenError } from '../errors.js';
import { canonicalJson } from './canonical.js';
import { ChainVerifier, nextRow } from './chain.js';
import type { ChainRow, ChainVerdict } from './chain.js';
import type { Kysely } from 'kysely';
import type { Database, Tables } from './database.js';

/** What one audit entry says. */
export interface AuditEntry {
  /** `ingest`, `consent.grant`, `subject.erase`, … */
  readonly operation: string;
  /** Who did it: an API key's name, `cli`, `retention`. */
  readonly actor: string;
  /** The subject's keyed pseudonym, never its id. */
  readonly subject?: string | null;
  readonly image?: string | null;
  readonly formats?: readonly string[];
  /** What was stripped, by category, in parts. */
  readonly stripped?: Readonly<Record<string, number>>;
  /** The purpose an operation served, or a consent was for. */
  readonly purpose?: string | null;
  readonly basis?: string | null;
  /** The consent an operation rested on; several when it needed more than one. */
  readonly consent?: string | readonly string[] | null;
  readonly outcome: 'done' | 'refused';
  /** The error code of a refusal, or of a step that failed. */
  readonly error?: string | null;
  /** Numbers an operation reports: images deleted, hooks called, orphans removed. */
  readonly counts?: Readonly<Record<string, number>>;
}

const FIELDS = new Set([
  'operation',
  'actor',
  'subject',
  'image',
  'formats',
  'stripped',
  'purpose',
  'basis',
  'consent',
  'outcome',
  'error',
  'counts',
]);

/** Appends an audit entry, running `within` first in the same transaction. */
export type Recorder = (
  entry: AuditEntry | (() => AuditEntry),
  within?: (trx: Kysely<Tables>) => Promise<void>,
) => Promise<ChainRow>;

/** A signed statement that the trail had `hash` at entry `seq` at `time`. */
export interface Checkpoint {
  readonly seq: number;
  readonly hash: string;
  readonly time: string;
  /** Ed25519 signature of the canonical JSON of { seq, hash, time }, base64. */
  readonly signature: string;
  /** The signing key's public half (SPKI, base64), to check the signature with. */
  readonly publicKey: string;
}

/** The key that signs checkpoints: created in the data folder (mode 0600) on first use. */
export function loadSigningKey(dataDir: string): { privateKey: KeyObject; publicKey: KeyObject } {
  const file = path.join(dataDir, 'audit-signing.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    createSecretFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  }
  const privateKey = readSigningKey(file);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** @throws ERR_IO for a file that is not an Ed25519 private key. */
function readSigningKey(file: string): KeyObject {
  try {
    const key = createPrivateKey(readFileSync(file));
    if (key.asymmetricKeyType === 'ed25519') return key;
  } catch {
    // unreadable or not a key: said below
  }
  throw pixwardenError(
    'ERR_IO',
    `${file} does not hold an Ed25519 private key (PEM): restore it from a backup`,
  );
}

function signedPart(checkpoint: Pick<Checkpoint, 'seq' | 'hash' | 'time'>): Buffer {
  return Buffer.from(
    canonicalJson({ seq: checkpoint.seq, hash: checkpoint.hash, time: checkpoint.time }),
  );
}

/** Rows are read this many at a time when the chain is verified. */
const verifyBatch = 10_000;

export class AuditTrail {
  constructor(
    private readonly database: Database,
    private readonly key: { privateKey: KeyObject; publicKey: KeyObject } | null = null,
  ) {}

  /**
   * Appends an entry, stamped with the time, after the current head. `within` runs first in
   * the same transaction, so that a change and the entry that records it are committed
   * together or not at all; an entry given as a function is made after it.
   * @throws ERR_INVALID_ARGUMENT for a field the trail does not record.
   */
  async append(
    entry: AuditEntry | (() => AuditEntry),
    within?: (trx: Kysely<Tables>) => Promise<void>,
  ): Promise<ChainRow> {
    const check = (given: AuditEntry) => {
      for (const field of Object.keys(given)) {
        if (!FIELDS.has(field))
          throw pixwardenError('ERR_INVALID_ARGUMENT', `an audit entry has no field "${field}"`);
      }
      return given;
    };
    if (typeof entry !== 'function') check(entry);
    const time = new Date().toISOString();
    return this.database.exclusive(async (trx) => {
      if (within !== undefined) await within(trx);
      // An entry given as a function is made after `within`, from what it found.
      const content = { ...check(typeof entry === 'function' ? entry() : entry), time };
      const last = await trx
        .selectFrom('audit')
        .select(['seq', 'hash'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      const row = nextRow(last ?? null, content);
      await trx
        .insertInto('audit')
        .values({ seq: row.seq, prev_hash: row.prevHash, content: row.content, hash: row.hash })
        .execute();
      return row;
    });
  }

  /** Every row in sequence order, read in batches. */
  async *rows(): AsyncGenerator<ChainRow> {
    // From below any sequence number, so that a row slipped in at 0 or below is read (and
    // breaks the chain) rather than skipped.
    let after = Number.MIN_SAFE_INTEGER;
    for (;;) {
      const batch = await this.database.db
        .selectFrom('audit')
        .selectAll()
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(verifyBatch)
        .execute();
      for (const row of batch)
        yield { seq: row.seq, prevHash: row.prev_hash, content: row.content, hash: row.hash };
      const last = batch.at(-1);
      if (last === undefined || batch.length < verifyBatch) return;
      after = last.seq;
    }
  }

  /**
   * Recomputes the chain and checks it against `checkpoints` (from a file kept elsewhere):
   * each must be signed by its key and match the entry it names, which must still be there.
   */
  async verify(given: readonly Checkpoint[] = []): Promise<ChainVerdict> {
    const verifier = new ChainVerifier();
    // The checkpoints kept in the database count as well: one an intruder left in place
    // still shows what it signed.
    const checkpoints = [...(await this.storedCheckpoints()), ...given];
    const expected = new Map(checkpoints.map((checkpoint) => [checkpoint.seq, checkpoint]));
    const own = this.publicKeyText();
    for (const checkpoint of checkpoints) {
      const reason = !checkpointSigned(checkpoint)
        ? 'its checkpoint is not validly signed'
        : own !== null && checkpoint.publicKey !== own
          ? 'its checkpoint was signed by another key than this trail’s'
          : null;
      if (reason !== null)
        return {
          ...verifier.verdict(),
          valid: false,
          firstInvalid: { seq: checkpoint.seq, reason },
        };
    }
    for await (const row of this.rows()) {
      if (!verifier.add(row)) break;
      const checkpoint = expected.get(row.seq);
      if (checkpoint !== undefined && checkpoint.hash !== row.hash)
        return {
          ...verifier.verdict(),
          valid: false,
          firstInvalid: { seq: row.seq, reason: 'it differs from the signed checkpoint of it' },
        };
    }
    const verdict = verifier.verdict();
    if (!verdict.valid) return verdict;
    const end = verdict.head?.seq ?? 0;
    const beyond = checkpoints.filter((checkpoint) => checkpoint.seq > end);
    const first = beyond.sort((a, b) => a.seq - b.seq)[0];
    if (first !== undefined)
      return {
        ...verdict,
        valid: false,
        firstInvalid: {
          seq: end + 1,
          reason: `the trail ends at entry ${end}, but a checkpoint was signed at entry ${first.seq}: entries were cut off`,
        },
      };
    return verdict;
  }

  /** The last entry's sequence number and hash, or null for an empty trail. */
  async head(): Promise<{ seq: number; hash: string } | null> {
    const head = await this.database.db
      .selectFrom('audit')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return head ?? null;
  }

  /**
   * Signs the current head and keeps the checkpoint in the database too.
   * @throws ERR_INVALID_ARGUMENT when the trail has no signing key, or is empty.
   */
  async checkpoint(): Promise<Checkpoint> {
    if (this.key === null)
      throw pixwardenError('ERR_INVALID_ARGUMENT', 'this audit trail has no signing key');
    const head = await this.head();
    if (head === null)
      throw pixwardenError('ERR_INVALID_ARGUMENT', 'the audit trail is empty: nothing to sign');
    const unsigned = { seq: head.seq, hash: head.hash, time: new Date().toISOString() };
    const signature = sign(null, signedPart(unsigned), this.key.privateKey).toString('base64');
    await this.database.db
      .insertInto('checkpoints')
      .values({ ...unsigned, signature })
      .onConflict((conflict) => conflict.column('seq').doNothing())
      .execute();
    return {
      ...unsigned,
      signature,
      publicKey: this.publicKeyText() ?? '',
    };
  }

  /** The signing key's public half as checkpoints carry it (SPKI DER, base64), or null. */
  private publicKeyText(): string | null {
    return this.key?.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') ?? null;
  }

  /** The checkpoints kept in the database, oldest first, with this trail's public key. */
  async storedCheckpoints(): Promise<Checkpoint[]> {
    if (this.key === null) return [];
    const publicKey = this.publicKeyText() ?? '';
    const rows = await this.database.db
      .selectFrom('checkpoints')
      .selectAll()
      .orderBy('seq')
      .execute();
    return rows.map((row) => ({
      seq: row.seq,
      hash: row.hash,
      time: row.time,
      signature: row.signature,
      publicKey,
    }));
  }
}

function checkpointSigned(checkpoint: Checkpoint): boolean {
  try {
    const key = createPublicKey({
      key: Buffer.from(checkpoint.publicKey, 'base64'),
      format: 'der',
      type: 'spki',
    });
    return verify(null, signedPart(checkpoint), key, Buffer.from(checkpoint.signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * Reads a checkpoint file: one JSON checkpoint per line.
 * @throws ERR_INVALID_ARGUMENT naming the first line that is not a checkpoint.
 */
export function parseCheckpoints(text: string): Checkpoint[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        value = null;
      }
      const c = value as Partial<Checkpoint> | null;
      if (
        c === null ||
        typeof c.seq !== 'number' ||
        typeof c.hash !== 'string' ||
        typeof c.time !== 'string' ||
        typeof c.signature !== 'string' ||
        typeof c.publicKey !== 'string'
      )
        throw pixwardenError('ERR_INVALID_ARGUMENT', `line ${index + 1} is not a checkpoint`);
      return c as Checkpoint;
    });
}
