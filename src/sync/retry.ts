/** Resending a request after a transient transport failure: exponential backoff with full jitter. */
import {TransientError, TransportError, type Transport} from '../core/transport.js'

export interface RetryPolicy {
  retries: number
  baseMs: number
  maxMs: number
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>
  random?: () => number
  onRetry?: (attempt: number, delayMs: number, error: Error) => void
}

export const DEFAULT_RETRY: RetryPolicy = {retries: 5, baseMs: 200, maxMs: 10_000}

const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Delay before retry `attempt` (0-based): uniform in [0, min(max, base * 2^attempt)]. */
export function backoff(attempt: number, p: Pick<RetryPolicy, 'baseMs' | 'maxMs' | 'random'>): number {
  const cap = Math.min(p.maxMs, p.baseMs * 2 ** attempt)
  return Math.round((p.random ?? Math.random)() * cap)
}

/** Requests are safe to resend: the server is stateless and storing a record twice stores it once. */
export async function requestWithRetry(t: Transport, message: Uint8Array, p: RetryPolicy = DEFAULT_RETRY): Promise<Uint8Array> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await t.request(message)
    } catch (e) {
      if (!(e instanceof TransientError)) throw e
      if (attempt >= p.retries) throw new TransportError(t.remote, e, attempt + 1)
      const delay = backoff(attempt, p)
      p.onRetry?.(attempt + 1, delay, e)
      await (p.sleep ?? wait)(delay)
    }
  }
}
