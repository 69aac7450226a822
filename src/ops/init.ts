/** Create a store: `.steme/` with the database, a config file, a .gitignore, and a key if there is none. */
import {existsSync, mkdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import {UserError} from '../core/errors.js'
import {CONFIG_FILE, DB_FILE, STEME_DIR, findStoreAbove, locateStore, readConfig} from '../config.js'
import {redactUrls} from '../core/redact.js'
// A PostgreSQL password may hold / ? # or @, which end a URL's user info for any other scheme.
import {isPostgresUrl, redact as redactPg} from '../adapters/postgres/url.js'
import {KeyStore, type KeyInfo} from '../keystore.js'
import {findGitRoot} from '../claims/repo.js'
import {openStore, openWhenFree, type StoreWait} from '../runtime.js'

export interface InitInput {
  dir: string
  env?: NodeJS.ProcessEnv
  /** A store URL other than the embedded file (memory:, postgres://). */
  storeUrl?: string
  /** How to wait for an existing store another steme process holds (default: its config's busy timeout). */
  wait?: StoreWait
}

export interface InitResult {
  /** The .steme directory; absent for a server store, which keeps everything in its database. */
  dir?: string
  /** The store, as it may be printed (no password). */
  store: string
  created: boolean
  key?: KeyInfo
  agent?: string
  /** What the user should know about where commands will find this store (another store above it, STEME_STORE). */
  notes?: string[]
  /** Why no key signs here yet (none is the default, the default one is gone or damaged): the store is made all the same. */
  keyProblem?: {message: string; hint?: string}
}

const CONFIG = `# steme store configuration. Every key is listed under "Configuration" in steme's docs/lenses.md;
# unknown keys are refused, naming the line.

[query]
# Lens used by \`steme query\` when --lens is not given.
lens = "recency"

[store]
# Records stamped further in the future than this are refused.
skew_seconds = 60
# How long a command waits for the store while another steme process holds it (0: not at all).
busy_timeout_seconds = 10

[trust]
# Agent keys trusted without endorsement (the store's own key always is).
pretrusted = []
`

const GITIGNORE = `# The database and local state stay out of git; claims.toml and config.toml are shared.
${DB_FILE}
${DB_FILE}.wal
*.tmp
state/
`

export async function initOp(input: InitInput): Promise<InitResult> {
  if (input.storeUrl !== undefined && /^postgres(ql)?:\/\//i.test(input.storeUrl)) return initServer(input.storeUrl, input.env)
  // --dir names the directory to make .steme/ in; a path to a .steme directory itself (as --store takes) means that one.
  const given = resolve(input.dir)
  const dir = basename(given) === STEME_DIR ? given : join(given, STEME_DIR)
  const dbPath = join(dir, DB_FILE)
  // Refused before anything is written: a wrong flag must not leave a half-made .steme/ behind.
  if (input.storeUrl !== undefined && input.storeUrl !== dbPath) {
    throw new UserError(`init --store takes a postgres:// URL, not ${input.storeUrl}; nothing was created`, {hint: 'for an embedded store run `steme init --dir <directory>` (it creates <directory>/.steme/)'})
  }
  checkPlace(input.dir, dir, dbPath)
  const existed = existsSync(join(dir, CONFIG_FILE)) || existsSync(dbPath)
  // An existing store whose config every command would refuse is not "already a store": say so now.
  if (existsSync(join(dir, CONFIG_FILE))) readConfig(dir)
  // What this run creates, so that a failure (no key can be made, the database will not open) leaves
  // nothing of it behind, and never touches what was there before.
  const made: string[] = []
  try {
    const top = mkdirSync(dir, {recursive: true})
    if (top) made.push(top)
    for (const [name, text] of [[CONFIG_FILE, CONFIG], ['.gitignore', GITIGNORE]]) {
      const path = join(dir, name)
      if (existsSync(path)) continue
      try {
        writeFileSync(path, text, {flag: 'wx'})
      } catch (e) {
        // EEXIST: someone else made it meanwhile, and it is theirs; otherwise a part of it may be written.
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') made.push(path)
        throw e
      }
      made.push(path)
    }
    // DuckDB's own files beside the database: its write-ahead log and spill directory.
    made.push(...[dbPath, `${dbPath}.wal`, `${dbPath}.tmp`].filter((p) => !existsSync(p)))
    // An existing store another steme holds is waited for, as every command waits for it.
    const store = await openWhenFree({dir, url: dbPath}, {create: true, wait: input.wait})
    await store.close()
    const notes = whereFound(dir, input.env ?? process.env)
    return {dir, store: dbPath, created: !existed, ...(notes.length ? {notes} : {}), ...ensureKey(input.env)}
  } catch (e) {
    for (const path of made.reverse()) rmSync(path, {recursive: true, force: true})
    throw e
  }
}

/**
 * Whether commands run beside this store will find it: not while STEME_STORE names another one; and
 * a store made below another one takes over the commands run under it (as a nested git repository does).
 */
function whereFound(dir: string, env: NodeJS.ProcessEnv): string[] {
  const notes: string[] = []
  const root = dirname(dir)
  if (env.STEME_STORE) {
    let there: {dir?: string; url?: string} = {}
    try {
      there = locateStore(undefined, env)
    } catch {
      // A STEME_STORE naming no store at all: commands still use it (and fail), not this one.
    }
    if (there.dir !== dir && there.url !== join(dir, DB_FILE)) {
      notes.push(`STEME_STORE is set, so commands use the store it names (${isPostgresUrl(env.STEME_STORE) ? redactPg(env.STEME_STORE, ':***') : redactUrls(env.STEME_STORE)}), not this one: unset it, or pass --store ${dir}`)
    }
  }
  const above = dirname(root) === root ? undefined : findStoreAbove(dirname(root))
  if (above !== undefined) notes.push(`this store is inside the tree of the store at ${above}: commands run in ${root} and below now use this one`)
  const repo = belowRepoTop(root, env)
  if (repo) notes.push(repo)
  return notes
}

/**
 * A store made in a subdirectory of a git work tree, as `git init` makes a repository where it is
 * run: commands run there find it, but verify, the claims commands and the hook work from the top of
 * the work tree (claims in <top>/.steme/claims.toml, a store looked for from there upward), so they
 * never see it. Said, rather than the store moved, since a store for one part of a repo is a fair wish.
 */
function belowRepoTop(root: string, env: NodeJS.ProcessEnv): string | undefined {
  const top = findGitRoot(root, env)
  if (top === undefined || top === root) return undefined
  const topStore = join(top, STEME_DIR)
  const theirs = existsSync(topStore) ? `they use the store at ${topStore}` : `for a store they use, run \`steme init --dir ${top}\``
  return `${root} is inside the git repository at ${top}: commands run in ${root} and below use this store, but \`steme verify\`, the claims commands and the git hook work from the repository's top (claims in ${join(topStore, 'claims.toml')}), so they do not use it; ${theirs}`
}

/**
 * --dir must be a directory (or not exist yet), .steme in it a directory and the database in that a
 * file, where they are there: said before anything is written.
 */
function checkPlace(given: string, dir: string, dbPath: string): void {
  const base = kindOf(resolve(given))
  if (base === 'under-file') throw new UserError(`init --dir ${given}: a part of the path is not a directory`, {hint: 'pass the directory to create .steme/ in'})
  if (base === 'file' || base === 'other') throw new UserError(`init --dir ${given} is not a directory`, {hint: 'pass the directory to create .steme/ in (it is created if missing)'})
  if (kindOf(dir) === 'file' || kindOf(dir) === 'other') {
    throw new UserError(`${dir} is there and is not a directory; nothing was created`, {
      hint: `steme keeps a store in the directory ${STEME_DIR}/: move that file away, or run \`steme init --dir <another directory>\``,
    })
  }
  if (kindOf(dbPath) === 'dir' || kindOf(dbPath) === 'other') {
    throw new UserError(`${dbPath} is there and is not a database file; nothing was created`, {
      hint: `move it away and run \`steme init\` again to create the database there`,
    })
  }
}

/** What is at a path: nothing, a directory, a file, something else, or nothing because a part of the path is a file. */
function kindOf(path: string): 'missing' | 'dir' | 'file' | 'other' | 'under-file' {
  try {
    const st = statSync(path)
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other'
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return 'missing'
    if (code === 'ENOTDIR') return 'under-file'
    throw e
  }
}

/**
 * A server store (PostgreSQL): create steme's schema in the database, nothing on local disk. The
 * URL is not written to a config file, which is shared through git and could carry a password;
 * commands find the store through --store or STEME_STORE.
 */
async function initServer(url: string, env?: NodeJS.ProcessEnv): Promise<InitResult> {
  let created = false
  let store
  try {
    store = await openStore(url)
  } catch (e) {
    if (!(e instanceof UserError && e.code === 'no_store')) throw e
    store = await openStore(url, {create: true})
    created = true
  }
  const location = store.location
  await store.close()
  return {store: location, created, ...ensureKey(env)}
}

/**
 * A first key when there is none at all. Where there are keys (or STEME_KEY) none is made, even
 * when none of them can sign: that is reported, with what to do, and the store is made all the same.
 */
function ensureKey(env: NodeJS.ProcessEnv = process.env): {key?: KeyInfo; agent?: string; keyProblem?: {message: string; hint?: string}} {
  const keys = new KeyStore(env)
  const key = keys.has() ? undefined : keys.generate('default', true)
  try {
    return {key, agent: keys.load().publicHex}
  } catch (e) {
    if (!(e instanceof UserError)) throw e
    return {key, keyProblem: {message: e.message, hint: e.hint}}
  }
}
