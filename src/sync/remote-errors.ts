/**
 * Errors about the remote's store (missing, busy, damaged), worded for the user at this end: the
 * local store's errors carry hints about --store, STEME_STORE and --remote, which are wrong here.
 */
import {UserError, type ErrorCode} from '../core/errors.js'
import {damagedStoreError} from '../core/render-error.js'

export const REMOTE_HINTS: Partial<Record<ErrorCode, string>> = {
  no_store: 'check the remote path: it must name a steme store (a directory holding .steme/, a .steme directory, or its store.duckdb); create one there with `steme init`',
  locked: "the remote store is busy: another steme process held it longer than steme waits for a store (its config's busy_timeout_seconds, and at least 30 s over SSH): an ingest or another long command, or, with a remote steme older than this one, the steme of a lost SSH connection, which lets go only after its idle timeout (10 minutes by default); retry when that finishes, or sync with its `steme serve` URL (http://host:port) instead",
  integrity: "restore the remote's store.duckdb from a backup, or make a new store there (`steme init`) and push this store's records to it (`steme push <remote>`)",
}

/** Whether a remote store error's text says `steme serve` holds the store (which it keeps until stopped). */
export const heldByDaemon = (text: string): boolean => /is held by `steme serve`/.test(text)

/**
 * The hint for a remote store error of `code` whose text is `text`: a store held by `steme serve`
 * was refused at once (a daemon keeps its store until stopped), so the busy hint, which says how
 * long steme waited and for what, would mislead.
 */
export function remoteHint(code: ErrorCode, text: string): string | undefined {
  if (code === 'locked' && heldByDaemon(text)) {
    return '`steme serve` holds the remote store until it is stopped: sync with its URL instead (named above; it takes a token, which `steme serve token create --role read|write` makes there), or stop it first'
  }
  return REMOTE_HINTS[code]
}

/** What a remote store's error text says it is, for errors that arrive as text (an ERROR frame, a remote's stderr). */
export function remoteStoreCode(text: string): ErrorCode | undefined {
  if (/store file is damaged|^IO Error: (Could not read enough bytes|Corrupt database file)/m.test(text)) return 'integrity'
  if (/in use by another (steme )?process|is held by `steme serve`/.test(text)) return 'locked'
  if (/no store at |is not a steme store|DuckDB file but not a steme store|cannot open the store /.test(text)) return 'no_store'
  return undefined
}

/** The damaged-store message, said of the remote. */
const damagedText = (message: string) => `its store file is damaged, and steme cannot read it: ${message.replace(/^the store file is damaged, and steme cannot read it: /, '').replace(/^IO Error: /, '')}`

/**
 * An error opening or reading the remote's store as a UserError about the remote, with a hint
 * for the remote case; undefined when it is not a store error (a bug stays a bug).
 */
export function remoteStoreError(remote: string, e: unknown): UserError | undefined {
  const err = damagedStoreError(e) ?? e
  if (!(err instanceof UserError)) return undefined
  const damaged = err.code === 'integrity' && (/store file is damaged/.test(err.message) || /^IO Error: /.test(err.message))
  const code = damaged ? 'integrity' : err.code === 'locked' || err.code === 'no_store' ? err.code : undefined
  const message = damaged ? damagedText(err.message) : err.message
  return new UserError(`remote ${remote}: ${message}`, {code: err.code, exit: err.exit, hint: (code && remoteHint(code, err.message)) ?? err.hint, cause: e})
}
