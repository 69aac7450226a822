/** The two kinds of error: one the user can fix (with a hint and an exit code), and a bug. */

/** Stable machine-readable codes; `serve` maps them to HTTP statuses. */
export type ErrorCode =
  | 'usage'
  | 'config'
  | 'not_found'
  | 'invalid_record'
  | 'rejected'
  | 'locked'
  | 'no_store'
  | 'no_key'
  | 'integrity'
  | 'conflict'
  | 'remote'
  | 'unauthorized'
  | 'forbidden'
  | 'too_large'
  | 'rate_limited'
  | 'invalid_claims'
  | 'no_space'
  /** A bug, or a failure of its host, on a `steme serve` daemon, passed on by the client as the daemon said it (this side has no stack to show). */
  | 'internal'

/** An error caused by input or environment the user controls. `exit` follows DESIGN.md §7. */
export class UserError extends Error {
  readonly code: ErrorCode
  readonly hint?: string
  readonly exit: 1 | 2
  /** Where in the input the problem is (1-based), when it is in a text the user wrote. */
  readonly at?: {line: number; column?: number}
  /** Facts a script needs about the failure, beside code, message and hint in the --json error document (e.g. an ingest's progress). */
  readonly details?: Record<string, unknown>
  constructor(message: string, opts: {code?: ErrorCode; hint?: string; exit?: 1 | 2; cause?: unknown; at?: {line: number; column?: number}; details?: Record<string, unknown>} = {}) {
    super(message, opts.cause === undefined ? undefined : {cause: opts.cause})
    this.name = 'UserError'
    this.code = opts.code ?? 'usage'
    this.hint = opts.hint
    this.exit = opts.exit ?? 2
    if (opts.at) this.at = opts.at
    if (opts.details) this.details = opts.details
  }
}

/**
 * A broken invariant inside steme: always a bug, never the user's fault. It may still carry what
 * the user can do meanwhile (`hint`) and facts a script needs (`details`, e.g. an ingest's progress),
 * said after the bug as a UserError's are.
 */
export class BugError extends Error {
  readonly hint?: string
  readonly details?: Record<string, unknown>
  constructor(message: string, opts: {cause?: unknown; hint?: string; details?: Record<string, unknown>} = {}) {
    super(message, opts.cause === undefined ? undefined : {cause: opts.cause})
    this.name = 'BugError'
    // The message is said to the user (and written into --json documents): the cause's stack stays
    // in this one's, for STEME_DEBUG and the daemon's log, where a bug is looked into.
    if (opts.cause instanceof Error && opts.cause.stack && this.stack) this.stack += `\ncaused by: ${opts.cause.stack}`
    if (opts.hint !== undefined) this.hint = opts.hint
    if (opts.details) this.details = opts.details
  }
}

/** Why one record is invalid: which field, and what is wrong with it. */
export class RecordError extends Error {
  readonly field: string
  constructor(field: string, message: string) {
    super(`${field}: ${message}`)
    this.name = 'RecordError'
    this.field = field
  }
}

export const isUserError = (e: unknown): e is UserError => e instanceof UserError

/**
 * Text from the input (a pattern, a name) shown inside a one-line message: line breaks are
 * written as \n, \r, \u2028 and \u2029, so an error stays one line naming its file and line.
 */
export const oneLine = (text: string): string =>
  text.replace(/[\r\n\u2028\u2029]/g, (c) => ({'\r': '\\r', '\n': '\\n', '\u2028': '\\u2028', '\u2029': '\\u2029'})[c]!)
