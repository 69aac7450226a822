/** The one composition root: opens the store, clock and keys for the CLI and the daemon alike. */
import {HLC_META, HLC_RE, Hlc, parseHlc} from './core/hlc.js'
import type {Store} from './core/store.js'
import {accessSync, closeSync, constants, openSync, readSync, statSync} from 'node:fs'
import {dirname} from 'node:path'
import {UserError} from './core/errors.js'
import {storeNotWritable} from './core/render-error.js'
import {DEFAULT_CONFIG, locateStore, noStoreAt, readConfig, type StoreConfig, type StoreLocation} from './config.js'
import {KeyStore, type LoadedKey} from './keystore.js'
import {readServeState, stateDir} from './serve/state.js'

export interface Runtime {
  store: Store
  location: StoreLocation
  config: StoreConfig
  clock: Hlc
  keys: KeyStore
  /** The signing key; loaded on first use so read-only commands never need one. */
  key(): LoadedKey
  /** Persist the clock so stamps never repeat across restarts. */
  saveClock(): Promise<void>
  close(): Promise<void>
}

export interface RuntimeOptions {
  store?: string
  /**
   * Open without writing (the store may be on a read-only disk, and other readers can share it).
   * 'if-unwritable': writable when this user can write the store, else read-only, for commands
   * whose only writes are caches (the reliability lens).
   */
  readOnly?: boolean | 'if-unwritable'
  /** Create the schema if the file is new (init). */
  create?: boolean
  /** DuckDB worker threads (default: one per core); commands that answer lookups use one. */
  dbThreads?: number
  /**
   * The command writes but issues no stamps (fsck --repair): the clock is neither resumed from
   * the store nor saved, so a store whose hlc column is damaged (what fsck --repair mends) opens.
   */
  noClock?: boolean
  keyName?: string
  env?: NodeJS.ProcessEnv
  cwd?: string
  now?: () => number
  /** How to wait for a store another steme process holds (default: the config's busy timeout). */
  wait?: StoreWait
}

/**
 * Waiting for a store another steme process holds (DuckDB admits one writer process per file):
 * opening is retried every `pollMs` (200) for `ms`, by default the store config's
 * `[store] busy_timeout_seconds` (10 s), or `atLeastMs` if longer. A store held by `steme serve`
 * is refused at once: a daemon lets go only when stopped.
 */
export interface StoreWait {
  ms?: number
  atLeastMs?: number
  pollMs?: number
  /** Called once, when the wait has lasted a second: commands say on a terminal what they wait for. */
  onWait?: (waitMs: number) => void
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>
}

/** Open a store by URL with the adapter its scheme names; adapters load lazily (DuckDB costs ~190 ms to import). */
export async function openStore(url: string, opts: {readOnly?: boolean | 'if-unwritable'; create?: boolean; dbThreads?: number} = {}): Promise<Store> {
  if (url === 'memory:') {
    const {MemoryStore} = await import('./adapters/memory.js')
    return new MemoryStore()
  }
  if (/^postgres(ql)?:\/\//i.test(url)) {
    // pg loads only here, so commands on DuckDB stores never pay for it.
    const {PostgresStore} = await import('./adapters/postgres/index.js')
    return PostgresStore.open(url, {...opts, readOnly: opts.readOnly === true})
  }
  let readOnly = opts.readOnly === true
  // A file already there is opened, not made: it must be a store. (DuckDB opened facts.ndjson
  // as something else, in memory, and a migrate into it reported records added that went nowhere.)
  if (opts.create && isNonEmptyFile(url)) notDuckDB(url, {hint: CREATE_HINT})
  if (!opts.create) {
    const {existsSync} = await import('node:fs')
    if (!existsSync(url)) throw noStoreAt(url)
    notDuckDB(url)
    if (!readOnly) {
      const refused = unwritable(url)
      if (refused && opts.readOnly !== 'if-unwritable') throw refused
      readOnly = !!refused
    }
  }
  const {DuckDBStore} = await import('./adapters/duckdb/index.js')
  return DuckDBStore.open(url, {readOnly, create: opts.create, threads: opts.dbThreads})
}

/**
 * Why this user cannot write the store file, when it cannot: a writable open needs the file and
 * its directory (DuckDB writes its .wal beside the file), and without this check DuckDB fails
 * either at open with a bare "Read-only file system" or only at the first commit.
 */
function unwritable(path: string): UserError | undefined {
  for (const p of [path, dirname(path)]) {
    try {
      accessSync(p, constants.W_OK)
    } catch (e) {
      return storeNotWritable(path, (e as NodeJS.ErrnoException).code === 'EROFS', e)
    }
  }
  return undefined
}

/** What to do when a store was to be made where a file that is not one is. */
export const CREATE_HINT = 'name an existing store, or a path where no file is yet for a new one; to write records to a file, run `steme export -o <file>`'

function isNonEmptyFile(path: string): boolean {
  try {
    const st = statSync(path)
    return st.isFile() && st.size > 0
  } catch {
    return false
  }
}

/**
 * Refuse a file that is not a DuckDB database before DuckDB sees it: DuckDB reads some names as
 * other things (`x.csv` became "Cannot launch in-memory database in read-only mode"). `as` names
 * the path as the user gave it (`migrate --to x`).
 */
export function notDuckDB(path: string, opts: {as?: string; hint?: string} = {}): void {
  const head = Buffer.alloc(12)
  let n = 0
  try {
    const fd = openSync(path, 'r')
    try {
      n = readSync(fd, head, 0, 12, 0)
    } finally {
      closeSync(fd)
    }
  } catch {
    return // a directory or an unreadable file: DuckDB's own error says which
  }
  if (n === 12 && head.toString('latin1', 8, 12) === 'DUCK') return
  throw new UserError(`${opts.as ?? path} is not a steme store: it is not a DuckDB database file`, {
    code: 'no_store',
    hint: opts.hint ?? 'point --store at a .steme directory (or its store.duckdb); to add records from a file, run `steme ingest <file>`',
  })
}

export async function openRuntime(opts: RuntimeOptions = {}): Promise<Runtime> {
  const env = opts.env ?? process.env
  const location = locateStore(opts.store, env, opts.cwd)
  const config = readConfig(location.dir)
  const store = await openWhenFree(location, opts, config)
  // The clock resumes above both its saved stamp and every stored record, so a crash between
  // an insert and saveClock() still never reissues a stamp. Readers, 'if-unwritable' openers
  // (which only cache) and noClock commands issue no stamps.
  const stamps = !opts.readOnly && !opts.noClock
  const [saved0, stored] = stamps
    ? await Promise.all([store.getMeta(HLC_META), store.maxHlc()]).catch(async (e: unknown) => {
        // Closed, or a PostgreSQL store's pool keeps the process alive until its idle connections time out.
        await store.close().catch(() => undefined)
        throw e
      })
    : [undefined, undefined]
  // Neither comes from the user: one that is no stamp is damage in the store, and says where.
  if (stored && !HLC_RE.test(stored)) {
    await store.close().catch(() => undefined)
    throw new UserError(`the store's hlc column holds ${JSON.stringify(stored)}, which is no HLC stamp, so the clock cannot resume above the stored records`, {
      code: 'integrity',
      exit: 1,
      hint: '`steme fsck` finds the record; `steme fsck --repair` rewrites the column from the signed records',
    })
  }
  if (saved0 && !HLC_RE.test(saved0)) {
    await store.close().catch(() => undefined)
    throw new UserError(`the clock saved in the store (meta ${HLC_META}) is ${JSON.stringify(saved0)}, which is no HLC stamp`, {
      code: 'integrity',
      exit: 1,
      hint: 'the store was changed outside steme: `steme fsck --repair` resets the saved clock to the latest stored stamp (the clock then resumes above it and the wall clock), and checks every record',
    })
  }
  const last = [saved0, stored].filter((x): x is string => !!x).sort().pop()
  const clock = new Hlc(last ? parseHlc(last) : undefined, opts.now)
  const keys = new KeyStore(env)
  let key: LoadedKey | undefined
  let saved = saved0 ?? ''
  const rt: Runtime = {
    store,
    location,
    config,
    clock,
    keys,
    key: () => (key ??= keys.load(opts.keyName)),
    async saveClock() {
      const now = clock.current()
      if (now !== saved && stamps) {
        await store.setMeta(HLC_META, now)
        saved = now
      }
    },
    async close() {
      // The store is closed (its lock let go of) even when saving the clock fails; that error still surfaces.
      try {
        await rt.saveClock()
      } finally {
        await store.close()
      }
    },
  }
  return rt
}

/**
 * `openStore`, retried while another steme process (not a daemon) holds the store, for as long as
 * `opts.wait` and the store's config say (StoreWait). openRuntime opens every command's store so;
 * the commands that open a store without a runtime (init on an existing store, migrate's --from
 * and --to) call this, so that they wait, and say so, as every other command does.
 */
export async function openWhenFree(location: Pick<StoreLocation, 'dir' | 'url'>, opts: Pick<RuntimeOptions, 'readOnly' | 'create' | 'dbThreads' | 'wait'>, config: StoreConfig = readConfig(location.dir)): Promise<Store> {
  const {pollMs = 200, onWait, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))} = opts.wait ?? {}
  const waitMs = opts.wait?.ms ?? Math.max(config.busyTimeoutSeconds * 1000, opts.wait?.atLeastMs ?? 0)
  const start = Date.now()
  let told = false
  for (;;) {
    try {
      return await openStore(location.url, opts)
    } catch (e0) {
      const e = explainLock(e0, location)
      if (!(e instanceof UserError) || e.code !== 'locked' || heldByDaemon.has(e)) throw e
      const waited = Date.now() - start
      if (waited >= waitMs) throw waitMs > 0 ? waitedFor(e, waited) : e
      if (!told && waited >= 1000) {
        told = true
        onWait?.(waitMs)
      }
      await sleep(Math.min(pollMs, waitMs - waited))
    }
  }
}

/** The lock error after a wait: it says how long, and where that is set. */
function waitedFor(e: UserError, waitedMs: number): UserError {
  const waited = `waited ${Number((waitedMs / 1000).toFixed(1))} s`
  // "... process (pid 4242: steme ingest)" gets "; waited 10 s" inside its parentheses.
  const message = e.message.endsWith(')') ? `${e.message.slice(0, -1)}; ${waited})` : `${e.message} (${waited})`
  return new UserError(message, {
    code: 'locked',
    exit: e.exit,
    hint: `${e.hint ?? 'retry when the other steme command has finished'}; \`[store] busy_timeout_seconds\` in the store's config.toml sets how long commands wait for the store (default ${DEFAULT_CONFIG.busyTimeoutSeconds})`,
    cause: e,
  })
}

/** Lock errors that name a `steme serve` as the holder: it holds the store until stopped, so waiting for it is pointless. */
const heldByDaemon = new WeakSet<Error>()

/** A lock error names the daemon that holds the store, when it is a `steme serve`, and says what to do. */
function explainLock(e: unknown, location: Pick<StoreLocation, 'dir' | 'url'>): unknown {
  if (!(e instanceof UserError) || e.code !== 'locked') return e
  const daemon = readServeState(stateDir(location))
  if (!daemon) return e
  return marked(heldByDaemon, new UserError(`the store ${location.url} is held by \`steme serve\` (pid ${daemon.pid}, ${daemon.url})`, {
    code: 'locked',
    exit: 1,
    hint: `assert, vote, retract, trust, epoch, ingest, query, log, show, stats, conflicts and verify go through it on their own (or pass --remote ${daemon.url}); for anything else stop it first: kill -TERM ${daemon.pid}`,
    cause: e,
  }))
}

function marked<E extends Error>(set: WeakSet<Error>, e: E): E {
  set.add(e)
  return e
}
