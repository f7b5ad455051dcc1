/**
 * Purge hooks: HTTP endpoints told when images are deleted (erasure, retention), so that
 * caches such as a CDN's drop their copies too. Each is sent one POST with a JSON body that
 * names the images by their ids and variants (never anything of the person), and is tried
 * again on a network error, a timeout or a 408, 429 or 5xx answer, with a growing pause.
 */
import type { Recorder } from './audit.js';

export interface PurgeHook {
  readonly url: string;
  /** Sent with every request: an authorization header, for instance. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

export interface HookOutcome {
  /** The hook's URL without its query and fragment (which may hold a token). */
  readonly url: string;
  readonly ok: boolean;
  readonly attempts: number;
  /** The last HTTP status, or null when no answer came. */
  readonly status: number | null;
  /** Why the last attempt failed, or null. */
  readonly error: string | null;
}

export interface PurgeNotice {
  readonly event: 'erasure' | 'retention' | 'withdrawal';
  readonly images: readonly { readonly id: string; readonly variant: string }[];
}

export interface HookSettings {
  /** Attempts per hook. Default 3. */
  readonly attempts?: number | undefined;
  /** Time allowed for one answer. Default 5 s. */
  readonly timeoutMs?: number | undefined;
  /** The pause before the second attempt, doubled for each next one. Default 250 ms. */
  readonly backoffMs?: number | undefined;
}

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

/** Calls every hook (at once) and reports how each went; never throws. */
export async function callPurgeHooks(
  hooks: readonly PurgeHook[],
  notice: PurgeNotice,
  settings: HookSettings = {},
): Promise<HookOutcome[]> {
  if (hooks.length === 0 || notice.images.length === 0) return [];
  const body = JSON.stringify(notice);
  return Promise.all(hooks.map((hook) => callOne(hook, body, settings)));
}

/** A URL as reports show it: without a query or fragment, which may carry a token. */
function shown(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

async function callOne(
  given: PurgeHook,
  body: string,
  settings: HookSettings,
): Promise<HookOutcome> {
  const hook = { ...given, shown: shown(given.url) };
  const attempts = Math.max(1, settings.attempts ?? 3);
  let status: number | null = null;
  let error: string | null = null;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    if (attempt > 1)
      await new Promise((resolve) =>
        setTimeout(resolve, (settings.backoffMs ?? 250) * 2 ** (attempt - 2)),
      );
    try {
      const response = await fetch(hook.url, {
        method: 'POST',
        headers: { ...hook.headers, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(settings.timeoutMs ?? 5000),
        // A redirect is an answer, not an acceptance: it is not followed, and not retried.
        redirect: 'manual',
      });
      await response.body?.cancel();
      status = response.status;
      if (response.ok) return { url: hook.shown, ok: true, attempts: attempt, status, error: null };
      error = `answered ${status}`;
      if (!retryable(status))
        return { url: hook.shown, ok: false, attempts: attempt, status, error };
    } catch (failure: unknown) {
      status = null;
      error =
        failure instanceof Error
          ? ((failure.cause as Error | undefined)?.message ?? failure.message)
          : String(failure);
    }
  }
  return { url: hook.shown, ok: false, attempts, status, error };
}

/**
 * Tells the hooks that images were deleted, and audits how that went (`ERR_PURGE_HOOK` when
 * any never accepted); nothing is audited when there was no hook or no image.
 */
export type Purger = (
  pseudonym: string | null,
  notice: PurgeNotice,
) => Promise<readonly HookOutcome[]>;

export function purger(
  hooks: readonly PurgeHook[],
  settings: HookSettings | undefined,
  record: Recorder,
  actor: string,
): Purger {
  return async (pseudonym, notice) => {
    const outcomes = await callPurgeHooks(hooks, notice, settings);
    if (outcomes.length === 0) return outcomes;
    const failed = outcomes.filter((outcome) => !outcome.ok).length;
    await record({
      operation: 'purge',
      actor,
      subject: pseudonym,
      outcome: failed === 0 ? 'done' : 'refused',
      error: failed === 0 ? null : 'ERR_PURGE_HOOK',
      counts: { hooks: outcomes.length, failed },
    });
    return outcomes;
  };
}
