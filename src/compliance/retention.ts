/**
 * Retention: originals and variants carry an expiry from the configuration; a sweep deletes
 * what has expired (blobs first, then the records with the audit entry that records it, one
 * entry per image) and tells the purge hooks.
 */
import type { Recorder } from './audit.js';
import type { HookOutcome, Purger } from './hooks.js';
import type { ImageRegistry, StoredImage } from './images.js';

export interface SweepReport {
  /** Images with something deleted. */
  readonly images: number;
  /** Stored files (originals, raw uploads, variants) deleted. */
  readonly files: number;
  readonly hooks: readonly HookOutcome[];
}

export interface SweepParts {
  readonly images: ImageRegistry;
  readonly record: Recorder;
  readonly actor: string;
  /** Tells the purge hooks, and audits it. */
  readonly purge: Purger;
}

export async function sweepRetention(now: Date, parts: SweepParts): Promise<SweepReport> {
  const expired = await parts.images.expired(now.toISOString());
  const byImage = new Map<string, StoredImage[]>();
  for (const image of expired) byImage.set(image.id, [...(byImage.get(image.id) ?? []), image]);
  for (const [id, variants] of byImage) {
    // The entry names the image, not the subject: the pseudonym cannot be computed without
    // the caller's id. A subject's history finds it through the image id.
    await parts.record(
      {
        operation: 'retention.sweep',
        basis: 'legal-obligation',
        actor: parts.actor,
        image: id,
        formats: variants.map((image) => image.format),
        outcome: 'done',
        error: null,
        counts: { variants: variants.length },
      },
      async (trx) => {
        await parts.images.remove(variants, trx);
      },
    );
  }
  const hooks = await parts.purge(null, {
    event: 'retention',
    images: expired.map(({ id, variant }) => ({ id, variant })),
  });
  return { images: byImage.size, files: expired.length, hooks };
}
