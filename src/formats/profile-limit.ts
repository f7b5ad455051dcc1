/** The size bound on a colour profile, shared by the containers. */
import { over } from '../limits.js';
import type { Limits } from '../limits.js';
import type { ParsedImage } from './types.js';

/**
 * A profile larger than `maxSegmentBytes` (once assembled from its pieces, or inflated) is not
 * passed on: it becomes a problem, so that strip drops it and inspect reports it.
 */
export function oversizedProfile(icc: ParsedImage['icc'], limits: Limits): ParsedImage['icc'] {
  if (icc instanceof Uint8Array && over(icc.length, limits.maxSegmentBytes)) {
    return {
      problem: `the profile is ${icc.length} bytes, more than the limit of ${limits.maxSegmentBytes}`,
    };
  }
  return icc;
}
