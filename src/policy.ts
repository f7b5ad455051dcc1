import { pixwardenError } from './errors.js';
import type { KeepItem, StripPolicy } from './types.js';

export const KEEP_ITEMS: readonly KeepItem[] = ['orientation', 'icc', 'copyright'];

/**
 * The default: keep the Orientation tag (so photos display upright) and a scrubbed ICC
 * profile (so colours stay right). Everything else goes.
 */
export const DEFAULT_POLICY: StripPolicy = Object.freeze({
  keep: Object.freeze(['orientation', 'icc'] as KeepItem[]),
});

/**
 * Reads a keep-list such as `orientation,icc` or `none`.
 * @throws ERR_INVALID_ARGUMENT for an unknown item.
 */
export function parseKeepList(text: string): StripPolicy {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 1 && items[0] === 'none') return { keep: [] };
  const keep: KeepItem[] = [];
  for (const item of items) {
    if (!isKeepItem(item)) {
      throw pixwardenError(
        'ERR_INVALID_ARGUMENT',
        `unknown keep item "${item}", expected a comma list of ${KEEP_ITEMS.join(', ')} or none`,
        { value: item },
      );
    }
    if (!keep.includes(item)) keep.push(item);
  }
  return { keep };
}

function isKeepItem(item: string): item is KeepItem {
  return (KEEP_ITEMS as readonly string[]).includes(item);
}

/** Whether the policy keeps `item`. */
export function keeps(policy: StripPolicy, item: KeepItem): boolean {
  return policy.keep.includes(item);
}
