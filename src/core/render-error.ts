/** How a command reports an error that ends it: a user error with its hint and exit code, or a bug. */
import {BugError, UserError, type ErrorCode} from './errors.js'
import {redactUrls} from './redact.js'
import {visible} from './text.js'

/**
 * What to do about a system error on a path the user named. Exit 2 when the path itself is wrong
 * (missing, a directory, a file, already there, too long, a link loop): the user fixes the command.
 * Exit 1 when the path may be right but the machine refused (permissions, a full or read-only disk):
 * the same command can succeed once that is fixed.
 */
const SYSTEM_ERRORS: Record<string, {exit: 1 | 2; code: ErrorCode; hint: string}> = {
  ENOENT: {exit: 2, code: 'not_found', hint: 'check the path: it does not exist'},
  EISDIR: {exit: 2, code: 'usage', hint: 'a directory was given where a file is needed: pass the path of a file'},
  ENOTDIR: {exit: 2, code: 'usage', hint: 'a part of the path is a file, not a directory: check the path'},
  EEXIST: {exit: 2, code: 'usage', hint: 'something is already there: move it away, or use another path'},
  ENAMETOOLONG: {exit: 2, code: 'usage', hint: 'use a shorter path'},
  ELOOP: {exit: 2, code: 'usage', hint: 'the path goes through a loop of symbolic links: fix the links, or use another path'},
  EACCES: {exit: 1, code: 'forbidden', hint: 'check the permissions on the path (ls -l), or use another path'},
  EPERM: {exit: 1, code: 'forbidden', hint: 'check the permissions on the path (ls -l), or use another path'},
  ENOSPC: {exit: 1, code: 'no_space', hint: 'free some space on that disk and run the command again'},
  EROFS: {exit: 1, code: 'forbidden', hint: 'the file system is read-only: use a path on a writable one'},
}

/**
 * A Node system error about a file (a path the user gave that a command did not check itself) as a
 * UserError that names the path and the system's reason, not as a bug in steme.
 */
export function fileSystemError(err: unknown): UserError | undefined {
  const e = err as NodeJS.ErrnoException | undefined
  if (!(e instanceof Error) || typeof e.code !== 'string' || typeof e.syscall !== 'string') return undefined
  const known = SYSTEM_ERRORS[e.code]
  // Only node:fs errors, whose message is "CODE: reason, syscall 'path'"; spawn and socket errors
  // ("spawn ssh ENOENT", "connect ENOENT /run/x.sock") are about programs and peers, not paths.
  if (!known || !e.message.startsWith(`${e.code}: `)) return undefined
  const reason = e.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '')
  const dest = (e as {dest?: unknown}).dest
  const what = typeof e.path === 'string' ? `${e.path}${typeof dest === 'string' ? ` to ${dest}` : ''}` : 'a file'
  return new UserError(`cannot ${e.syscall} ${what}: ${reason}`, {exit: known.exit, code: known.code, hint: known.hint, cause: err})
}

/** DuckDB's words for a store file it cannot read back: cut short, or a block whose checksum fails. */
const DAMAGED = /^IO Error: (Could not read enough bytes from file|Corrupt database file)/

/**
 * A DuckDB error that means the store file is damaged (truncated, or corrupted on disk) as what it
 * is, with what to do, not as a bug in steme. Exit 1: the command found a failure, in the store.
 */
export function damagedStoreError(err: unknown): UserError | undefined {
  if (!(err instanceof Error) || err instanceof UserError || !DAMAGED.test(err.message)) return undefined
  return new UserError(`the store file is damaged, and steme cannot read it: ${err.message.replace(/^IO Error: /, '')}`, {
    code: 'integrity',
    exit: 1,
    hint: 'restore store.duckdb from a backup, or make a new store (`steme init --dir <new>`) and pull its records from a peer (`steme pull <remote>`)',
    cause: err,
  })
}

/**
 * What the system refused when the store's files were read or written, by the words of DuckDB's
 * I/O errors (`IO Error: ...`, `Failed to commit: Cannot open file ...`) or a Node system error's
 * code: a full disk, a permission or a read-only file system, or something else in the way of a
 * file (a directory where a file goes). Undefined for any other error, which may be a bug.
 */
export function storeIoFailure(err: unknown): 'no_space' | 'forbidden' | 'io' | undefined {
  if (!(err instanceof Error) || err instanceof UserError) return undefined
  const code = (err as NodeJS.ErrnoException).code
  const text = `${typeof code === 'string' ? code + ' ' : ''}${err.message}`
  if (/\b(ENOSPC|EDQUOT)\b|No space left on device|Disk quota exceeded/i.test(text)) return 'no_space'
  if (/\b(EACCES|EPERM|EROFS)\b|Permission denied|Read-only file system/i.test(text)) return 'forbidden'
  if (/\b(EIO|EISDIR|ENOTDIR|EMFILE|ENFILE)\b|^IO Error: |Cannot open file|Could not (read|write|truncate|sync|fsync)|Is a directory|Not a directory|Too many open files|Input\/output error/i.test(text)) return 'io'
  return undefined
}

/**
 * A store that failed as it was closed (its clock not saved, its last changes not checkpointed):
 * said as an error of the store's files, with what to do, rather than left to escape unrendered.
 * Exit 1: the command ran, and the store failed it.
 */
export function storeCloseError(err: unknown, location: string): UserError {
  if (err instanceof UserError) return err
  const io = storeIoFailure(err)
  const reason = err instanceof Error ? err.message : String(err)
  // A hint is printed as written: a server URL (and the password it may hold) stays out of it.
  const file = !/^[a-z][a-z0-9+.-]*:/i.test(location)
  const fix =
    io === 'no_space'
      ? 'free some space on its disk'
      : io === 'forbidden'
        ? file
          ? `get write permission on the store and its directory (ls -l ${location})`
          : 'get the permissions it needs on the database'
        : 'fix what kept it from writing its files (the reason above says: a full disk, a permission, something in the way of a file in the .steme directory)'
  return new UserError(`the store ${location} could not be closed cleanly: ${reason}`, {
    code: io === 'no_space' ? 'no_space' : io === 'forbidden' ? 'forbidden' : 'integrity',
    exit: 1,
    hint: `${fix}, then check the store with \`steme fsck\``,
    cause: err,
  })
}

/**
 * A store this user cannot write, opened by a command that writes: on a read-only file system, or
 * without write permission on the file or its directory. Exit 1, as for EROFS and EACCES: the
 * store is there and readable, and the same command works once it can write.
 */
export function storeNotWritable(path: string, readOnlyFs: boolean, cause?: unknown): UserError {
  const why = readOnlyFs ? 'is on a read-only file system' : 'is not writable by this user (the file, or the directory holding it)'
  const fix = readOnlyFs ? 'remount it read-write' : `get write permission on it and its directory (ls -l ${path})`
  return new UserError(`the store ${path} ${why}, and this command writes to it`, {
    code: 'forbidden',
    exit: 1,
    hint: `commands that only read it work as it is (query, log, show, stats, conflicts, export, fsck); to write, ${fix}, or copy the .steme directory somewhere writable and pass --store <copy>`,
    cause,
  })
}

/**
 * An error's text for the terminal: its line breaks kept, any other control character (from a
 * record, a file, a peer's answer) written as its escape. The fields a message quotes were put
 * in through field() where it was composed (src/core/text.ts); this is the net under that.
 */
const lines = (s: string) => s.split('\n').map(visible).join('\n')

/** Write the error to stderr (and, with --json, as JSON to stdout); returns the exit code. */
export function renderError(err: unknown, json: boolean): number {
  err = fileSystemError(err) ?? damagedStoreError(err) ?? err
  if (err instanceof UserError) {
    // A URL's userinfo (a token, a password) is never echoed, whatever message carries it (hints are steme's own text).
    const message = redactUrls(err.message)
    if (json) process.stdout.write(JSON.stringify({error: {code: err.code, message, hint: err.hint, ...err.details}}) + '\n')
    process.stderr.write(`error: ${lines(message)}\n${err.hint ? `hint: ${lines(err.hint)}\n` : ''}`)
    return err.exit
  }
  const e = err as Error | undefined
  const bug = err instanceof BugError ? err : new BugError(e?.message ?? String(err), {cause: err})
  const message = redactUrls(bug.message)
  // A script reading --json gets a document for a bug too, as for any other failure: code
  // `internal`, never the stack (that goes to stderr alone, with STEME_DEBUG).
  if (json) process.stdout.write(JSON.stringify({error: {code: 'internal', message, hint: bug.hint ? `${bug.hint}; ${INTERNAL_HINT}` : INTERNAL_HINT, ...bug.details}}) + '\n')
  process.stderr.write(`internal error (a bug in steme, please report it): ${lines(message)}\n${bug.hint ? `hint: ${lines(bug.hint)}\n` : ''}`)
  if (process.env.STEME_DEBUG) process.stderr.write(redactUrls(String(e?.stack)) + '\n')
  return 1
}

/** What to do about a bug, in the --json error document (on stderr, "a bug in steme, please report it" says it). */
export const INTERNAL_HINT = 'this is a bug in steme: please report it with the command and this message (run it again with STEME_DEBUG=1 for the stack trace on stderr)'

