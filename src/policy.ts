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
  const items = text.split(',').map((item) => item.trim());
  if (items.length === 1 && items[0] === 'none') return { keep: [] };
  return checkPolicy({ keep: items }, 'keep item');
}

/**
 * Checks a policy given by a caller: every item must be one of `KEEP_ITEMS`.
 * @throws ERR_INVALID_ARGUMENT naming the first item that is not.
 */
export function checkPolicy(
  policy: { keep: readonly string[]; allowTypeMismatch?: boolean },
  what = 'policy keep item',
): StripPolicy {
  const keep: KeepItem[] = [];
  const items: unknown = (policy as { keep?: unknown }).keep;
  if (!Array.isArray(items)) {
    throw pixwardenError('ERR_INVALID_ARGUMENT', 'the policy needs a keep list (an array)');
  }
  for (const item of items as unknown[]) {
    if (typeof item !== 'string' || !isKeepItem(item)) {
      const shown = String(item);
      const hint = item === 'none' ? ' (none stands alone)' : item === '' ? ' (an empty item)' : '';
      throw pixwardenError(
        'ERR_INVALID_ARGUMENT',
        `unknown ${what} "${shown}"${hint}: expected a comma list of ${KEEP_ITEMS.join(', ')}, or none`,
        { value: shown },
      );
    }
    if (!keep.includes(item)) keep.push(item);
  }
  const allow: unknown = (policy as { allowTypeMismatch?: unknown }).allowTypeMismatch;
  if (allow !== undefined && typeof allow !== 'boolean') {
    throw pixwardenError('ERR_INVALID_ARGUMENT', 'allowTypeMismatch must be true or false');
  }
  return allow === true ? { keep, allowTypeMismatch: true } : { keep };
}

function isKeepItem(item: string): item is KeepItem {
  return (KEEP_ITEMS as readonly string[]).includes(item);
}

/** Whether the policy keeps `item`. */
export function keeps(policy: StripPolicy, item: KeepItem): boolean {
  return policy.keep.includes(item);
}
