/**
 * What a failed reconcile means for the work queue: retry the key with backoff, or give up
 * until something changes.
 *
 * Guarantees: every thrown value gets exactly one meaning here, so the queue and the logs
 * agree; unknown throws (bugs, network failures) are retryable, as in controller-runtime.
 * Terminal: a `TerminalError`, and an `ApiError` whose status says retrying the same request
 * cannot help (400 Bad Request, 404 Not Found, 405, 410 Gone, 413, 415, 422 Invalid).
 * The key comes back with its next event or the periodic resync.
 * Decision: 401 and 403 stay retryable with backoff although the client calls them not
 * retryable. RBAC grants reach the authorizer through an informer and ServiceAccount tokens
 * rotate, so a denied write may succeed a moment later; an admin fixing the Role must heal
 * the cluster without another event. The per-key backoff (up to ~1000 s) keeps a
 * permanently denied key from hammering the API server.
 */
import { ApiError } from '../kube/client.js';

/** A failure that retrying the same input cannot fix: the queue forgets the key until it is added again. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Wraps any error as terminal, keeping it as the cause. */
export function terminal(error: unknown): TerminalError {
  if (error instanceof TerminalError) return error;
  return new TerminalError(error instanceof Error ? error.message : String(error), { cause: error });
}

/** Authorization failures that may heal without a change to the object (see the module comment). */
const RETRYABLE_DENIALS = new Set([401, 403]);

export function isRetryable(error: unknown): boolean {
  if (error instanceof TerminalError) return false;
  if (error instanceof ApiError) return error.retryable || RETRYABLE_DENIALS.has(error.status);
  return true;
}
