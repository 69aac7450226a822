/** Bearer tokens for the daemon: roles read < write < admin, stored hashed (SHA-256) in the store's state dir, shown once. */
import {createHash, timingSafeEqual} from 'node:crypto'
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {customAlphabet} from 'nanoid'
import {UserError} from '../core/errors.js'
import {replaceFileSync} from '../output-file.js'

export const ROLES = ['read', 'write', 'admin'] as const
export type Role = (typeof ROLES)[number]

export interface TokenEntry {
  id: string
  name?: string
  role: Role
  /** Hex SHA-256 of the whole token text; the token itself is never stored. */
  hash: string
  created: string
  revoked?: string
}

/** What a request carries once its token checked out. */
export interface Principal {
  tokenId: string
  name?: string
  role: Role
}

export const TOKENS_FILE = 'tokens.json'
const alnum = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ')
// "stm_<id>_<secret>": the id finds the entry, 43 base-62 chars (~256 bits) make the secret unguessable.
const TOKEN_RE = /^stm_([0-9a-zA-Z]{12})_([0-9a-zA-Z]{43})$/

/** A fresh token text in the same format (for tokens that live only in memory, like the daemon's local token). */
export const newTokenText = (): string => `stm_${alnum(12)}_${alnum(43)}`

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

export const roleAllows = (have: Role, need: Role): boolean => ROLES.indexOf(have) >= ROLES.indexOf(need)

/** How long a token command waits for another one changing the token file. */
const LOCK_WAIT_MS = 10_000

/** Block this thread for `ms` (the token commands are synchronous, and short). */
const sleepSync = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/** Who holds a lock file, and whether it is left over: its process is gone (or, unreadable, it is old). */
function lockHolder(lock: string): {pid?: number; stale: boolean} {
  let text: string
  let age: number
  try {
    text = readFileSync(lock, 'utf8')
    age = Date.now() - statSync(lock).mtimeMs
  } catch {
    return {stale: false} // gone meanwhile: try again
  }
  const pid = /^\d+$/.test(text) ? Number(text) : undefined
  // Written in the instant after it is created: empty only that long, unless its writer died.
  if (pid === undefined) return {stale: age > LOCK_WAIT_MS}
  try {
    process.kill(pid, 0)
    return {pid, stale: false}
  } catch (e) {
    return {pid, stale: (e as NodeJS.ErrnoException).code === 'ESRCH'}
  }
}

/**
 * Remove a lock its holder left when it died, holding `<lock>.break` meanwhile: two commands
 * that found it stale at once would otherwise each remove "the stale lock", and the second
 * remove the lock the first had just taken in its place, and both change the file. A breaker
 * is held only for the instant of the check and the removal; one left by a process that died in
 * that instant is removed as a stale lock is. False when another process is taking it over.
 */
function takeOver(lock: string, pid: number | undefined): boolean {
  const breaker = `${lock}.break`
  let fd: number
  try {
    fd = openSync(breaker, 'wx', 0o600)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    if (lockHolder(breaker).stale) rmSync(breaker, {force: true})
    return false
  }
  try {
    try {
      writeSync(fd, String(process.pid))
    } finally {
      closeSync(fd)
    }
    // Still the lock the dead holder left: only a breaker holder removes one, so it stays so until removed here.
    const now = lockHolder(lock)
    if (now.stale && now.pid === pid) rmSync(lock, {force: true})
    return true
  } finally {
    rmSync(breaker, {force: true})
  }
}

/** The token file of a store; re-read when it changes on disk, so a revocation applies to a running daemon at once. */
export class TokenFile {
  private cache: TokenEntry[] = []
  private stamp = ''

  constructor(
    readonly path: string,
    /** How long a change waits for another process changing the file (tests shorten it). */
    private readonly lockWaitMs = LOCK_WAIT_MS,
  ) {}

  static forStateDir(stateDir: string): TokenFile {
    return new TokenFile(join(stateDir, TOKENS_FILE))
  }

  list(): TokenEntry[] {
    let st
    try {
      st = statSync(this.path)
    } catch {
      this.cache = []
      this.stamp = ''
      return this.cache
    }
    const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`
    if (stamp !== this.stamp) {
      try {
        const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as {tokens?: TokenEntry[]}
        this.cache = Array.isArray(parsed.tokens) ? parsed.tokens : []
      } catch {
        throw new UserError(`${this.path} is not a valid token file`, {code: 'config', hint: 'restore it, or delete it and create new tokens with `steme serve token create`'})
      }
      this.stamp = stamp
    }
    return this.cache
  }

  create(role: Role, name?: string): {token: string; entry: TokenEntry} {
    if (!ROLES.includes(role)) throw new UserError(`unknown role "${role}"`, {hint: `roles: ${ROLES.join(', ')}`})
    const token = newTokenText()
    const id = TOKEN_RE.exec(token)![1]
    const entry: TokenEntry = {id, role, hash: sha256(token), created: new Date().toISOString()}
    if (name) entry.name = name
    this.locked(() => this.write([...this.list(), entry]))
    return {token, entry}
  }

  revoke(idOrName: string): TokenEntry[] {
    return this.locked(() => this.revokeLocked(idOrName))
  }

  /**
   * Run a change of the file holding its lock (`tokens.json.lock`, the holder's pid inside). Each
   * change reads the file, then replaces it: two at once (two admins, a script creating tokens)
   * would each write the file as it was before the other, and lose a token just shown to its user,
   * or a revocation, which makes a revoked token good again.
   */
  private locked<T>(change: () => T): T {
    const lock = `${this.path}.lock`
    mkdirSync(dirname(this.path), {recursive: true, mode: 0o700})
    const deadline = Date.now() + this.lockWaitMs
    for (;;) {
      try {
        const fd = openSync(lock, 'wx', 0o600)
        try {
          writeSync(fd, String(process.pid))
        } finally {
          closeSync(fd)
        }
        break
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
        const holder = lockHolder(lock)
        if (holder.stale && takeOver(lock, holder.pid)) continue
        if (Date.now() > deadline) {
          throw new UserError(`${this.path} is being changed by another process${holder.pid ? ` (pid ${holder.pid})` : ''}`, {
            code: 'locked',
            exit: 1,
            hint: `retry when the other \`steme serve token\` command has finished; if none runs, remove ${lock}`,
          })
        }
        sleepSync(10 + Math.floor(Math.random() * 20))
      }
    }
    try {
      // Read afresh under the lock: what another process wrote just before counts.
      this.stamp = ''
      return change()
    } finally {
      rmSync(lock, {force: true})
    }
  }

  private revokeLocked(idOrName: string): TokenEntry[] {
    const tokens = this.list()
    const byId = tokens.filter((t) => !t.revoked && t.id === idOrName)
    const hit = byId.length ? byId : tokens.filter((t) => !t.revoked && t.name === idOrName)
    // A name several tokens share is no way to say which: revoking all could cut off a write token nobody meant to.
    if (hit.length > 1) {
      throw new UserError(`${hit.length} active tokens are named "${idOrName}": ${hit.map((t) => `${t.id} (${t.role})`).join(', ')}`, {
        code: 'conflict',
        hint: 'revoke one by its id (`steme serve token list` shows them)',
      })
    }
    // A name that names nothing configured is a usage error (exit 2), as for remotes and keys; exit 1 is for ids the store lacks.
    if (hit.length === 0) throw new UserError(`no active token with id or name "${idOrName}"`, {code: 'not_found', hint: 'list tokens with `steme serve token list`'})
    const now = new Date().toISOString()
    this.write(tokens.map((t) => (hit.includes(t) ? {...t, revoked: now} : t)))
    return hit.map((t) => ({...t, revoked: now}))
  }

  /**
   * Tokens that checked out against the file as it is now (by its stamp): a request with a
   * known token skips the hash and the search. Any change to the file (a revocation by the CLI
   * or here) changes the stamp, and the next request checks afresh.
   */
  private verified = new Map<string, Principal>()
  private verifiedStamp = ''

  /** The principal for an Authorization header value, or the reason it is refused. */
  check(token: string): Principal | {refused: string} {
    const tokens = this.list()
    if (this.verifiedStamp !== this.stamp) {
      this.verified.clear()
      this.verifiedStamp = this.stamp
    }
    const known = this.verified.get(token)
    if (known) return known
    const m = TOKEN_RE.exec(token)
    if (!m) return {refused: 'malformed token (expected stm_<id>_<secret>)'}
    const entry = tokens.find((t) => t.id === m[1])
    const given = Buffer.from(sha256(token), 'hex')
    if (!entry || !timingSafeEqual(given, Buffer.from(entry.hash, 'hex'))) return {refused: 'unknown token'}
    if (entry.revoked) return {refused: `token ${entry.id} was revoked at ${entry.revoked}`}
    const principal = {tokenId: entry.id, name: entry.name, role: entry.role}
    // Bounded: only tokens that verified are kept, and a daemon has few.
    if (this.stamp !== '' && this.verified.size < 1024) this.verified.set(token, principal)
    return principal
  }

  /** Atomic replace, mode 0600: the file holds hashes only, but nobody else needs to read it. */
  private write(tokens: TokenEntry[]): void {
    mkdirSync(dirname(this.path), {recursive: true, mode: 0o700})
    replaceFileSync(this.path, JSON.stringify({tokens}, null, 2) + '\n', 0o600)
    this.stamp = ''
  }

  exists(): boolean {
    return existsSync(this.path)
  }
}
