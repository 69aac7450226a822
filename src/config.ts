/** Finding a store (like git finds a repo) and reading its config file `.steme/config.toml`. */
import {existsSync, readFileSync, statSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import {parse as parseToml, TomlError} from 'smol-toml'
import {UserError} from './core/errors.js'
import {closest, shellWord} from './core/words.js'
import {LENS_PARAMS, type ParamSpec} from './lenses/params.js'

export const STEME_DIR = '.steme'
export const DB_FILE = 'store.duckdb'
export const CONFIG_FILE = 'config.toml'

export interface StoreConfig {
  /** Default lens expression for `steme query`. */
  lens: string
  /** Records stamped further in the future than this are refused. */
  skewSeconds: number
  /** `[store] busy_timeout_seconds`: how long a command waits for the store while another steme process holds it (0: not at all). */
  busyTimeoutSeconds: number
  /** Agents trusted without endorsement (the store's own key always is). */
  pretrusted: string[]
  /** Named remotes for sync. */
  remotes: Record<string, string>
  /** `[sync] idle_timeout_seconds`: how long `sync-serve --stdio` on this store waits for a silent client (0: for ever); absent: its default. */
  syncIdleTimeoutSeconds?: number
  /** `[sync] release_after_seconds`: how long `sync-serve --stdio` on this store keeps it open while its client is silent (0: to the end); absent: its default. */
  syncReleaseAfterSeconds?: number
  /** Everything else in the file, for the parts that own it (lenses, serve). */
  raw: Record<string, unknown>
}

/** Node's timers wait at most 2^31-1 ms (about 24.8 days); a longer one would fire at once. */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000)

export const DEFAULT_CONFIG: StoreConfig = {lens: 'recency', skewSeconds: 60, busyTimeoutSeconds: 10, pretrusted: [], remotes: {}, raw: {}}

/** Where a store is: a `.steme` dir (with its config) or a bare URL such as `memory:` or `postgres://`. */
export interface StoreLocation {
  /** The `.steme` directory, when the store has one. */
  dir?: string
  /** What the adapter opens: a DuckDB file path, `memory:`, or a server URL. */
  url: string
  /** How it was found, for error messages. */
  via: '--store' | 'STEME_STORE' | 'search'
}

const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:/i.test(s) && !/^[a-z]:[\\/]/i.test(s)

/**
 * Resolve `--store`, else STEME_STORE, else the nearest `.steme/` upward from cwd. A directory
 * holding store.duckdb, a directory holding `.steme/`, and that store.duckdb itself all name the
 * same store, with the same `.steme/` directory (config.toml, state/).
 */
export function locateStore(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): StoreLocation {
  const given = flag ?? env.STEME_STORE
  const via = flag ? '--store' : 'STEME_STORE'
  if (given) {
    if (STORE_URL.test(given)) return {url: given, via}
    // A path with a colon in its first part (`backup:2024.duckdb`) that is there is a path.
    if (isUrl(given) && !existsSync(resolve(cwd, given))) throw unsupportedStoreUrl(given, via)
    const p = resolve(cwd, given)
    if (existsSync(p) && statSync(p).isDirectory()) {
      const dir = p.endsWith(STEME_DIR) || existsSync(join(p, DB_FILE)) ? p : join(p, STEME_DIR)
      return {dir, url: join(dir, DB_FILE), via}
    }
    // A store's own file (`.steme/store.duckdb`) is that store, whichever way it is named: its
    // directory's config and state apply as when the directory is given or found. A DuckDB file
    // of another name (a copy beside it, a backup) is a store without them.
    return basename(p) === DB_FILE ? {dir: dirname(p), url: p, via} : {url: p, via}
  }
  const found = findStoreAbove(cwd)
  if (found !== undefined) return {dir: found, url: join(found, DB_FILE), via: 'search'}
  throw new UserError('no steme store here or in any parent directory', {
    code: 'no_store',
    hint: 'run `steme init` to create one here, or pass --store <path> (or set STEME_STORE)',
  })
}

/** The URLs a store is opened by: PostgreSQL (and `memory:`, for tests); any other is no store. */
const STORE_URL = /^(postgres(ql)?:\/\/|memory:$)/i

/**
 * A store named by a URL of another scheme (`https://`, `file://`, `mysql://`) was taken for a file
 * path: "no store at https://...; create one there with `steme init --dir https://...`".
 */
function unsupportedStoreUrl(given: string, via: string): UserError {
  const scheme = given.slice(0, given.indexOf(':') + 1).toLowerCase()
  const why = /^https?:$/.test(scheme)
    ? '; to work through a `steme serve` daemon, pass its URL as --remote (or STEME_REMOTE) instead'
    : scheme === 'file:'
      ? '; for a store on this machine, give its path without file://'
      : ''
  return new UserError(`${via === 'STEME_STORE' ? 'STEME_STORE' : 'the store'} ${JSON.stringify(given)} is a ${scheme} URL, which names no store steme can open`, {
    hint: `a store is a .steme directory, a DuckDB file or a postgres:// URL${why}`,
  })
}

/** No store where `url` says (a file path): what to do about it, as every command says it. */
export function noStoreAt(url: string): UserError {
  const init = initCommandFor(url)
  return new UserError(`no store at ${url}`, {
    code: 'no_store',
    hint: init
      ? `create one there with \`${init}\`, or check --store / STEME_STORE`
      : 'check --store / STEME_STORE: it names a directory holding .steme/, a .steme directory or its store.duckdb (`steme init --dir <dir>` makes one)',
  })
}

/**
 * locateStore for the commands that keep a store's own files (remotes in config.toml, serve tokens
 * in state/) without opening its database: the store must be there, as opening it requires. A
 * mistyped --store got "no remotes" or "no tokens", exit 0, and `serve token create` made a
 * .steme/state/tokens.json where no store was, for a token no daemon would ever accept.
 */
export function locateExistingStore(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): StoreLocation {
  const loc = locateStore(flag, env, cwd)
  if (isUrl(loc.url) || existsSync(loc.url) || (loc.dir !== undefined && existsSync(join(loc.dir, CONFIG_FILE)))) return loc
  throw noStoreAt(loc.url)
}

/**
 * The `steme init` that makes a store where `path` (a store's directory, its `.steme/` or its
 * store.duckdb) will find it; undefined for a file of another name, which init cannot make.
 */
export function initCommandFor(path: string): string | undefined {
  let dir = path
  if (path.endsWith('.duckdb')) {
    if (basename(path) !== DB_FILE || basename(dirname(path)) !== STEME_DIR) return undefined
    dir = dirname(dirname(path))
  } else if (basename(path) === STEME_DIR) dir = dirname(path)
  return `steme init --dir ${shellWord(dir)}`
}

/** The nearest `.steme/` store directory at or above `from`, as commands find it without --store. */
export function findStoreAbove(from: string): string | undefined {
  let d = resolve(from)
  for (;;) {
    const candidate = join(d, STEME_DIR)
    if (existsSync(join(candidate, DB_FILE)) || existsSync(join(candidate, CONFIG_FILE))) return candidate
    const up = dirname(d)
    if (up === d) return undefined
    d = up
  }
}

/** One setting's rule: what it takes (for messages) and whether a value is that. */
interface Rule {
  takes: string
  ok: (v: unknown) => boolean
  /** For a list, the element that is wrong, so the message shows it rather than the whole list. */
  bad?: (v: unknown[]) => unknown
}

const isTable = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)
const AGENT = /^[0-9a-f]{64}$/
const agentList: Rule = {
  takes: 'a list of agent keys (64 lowercase hex chars each, as `steme whoami` prints them)',
  ok: (v) => Array.isArray(v) && v.every((a) => typeof a === 'string' && AGENT.test(a)),
  bad: (v) => v.find((a) => typeof a !== 'string' || !AGENT.test(a)),
}

/** The lens parameters [lenses.<name>] may set: the registry's own, typed as TOML has them. */
function lensRules(): Record<string, Record<string, Rule>> {
  return Object.fromEntries(
    Object.entries(LENS_PARAMS).map(([name, params]) => [
      name,
      Object.fromEntries(
        Object.entries(params as Record<string, ParamSpec>).map(([k, p]) => [
          k,
          {
            takes: p.toml === 'list' ? `${p.takes} (a list of strings in quotes)` : p.takes,
            ok: (v: unknown) => (p.toml === 'number' ? typeof v === 'number' : Array.isArray(v) ? v.every((x) => typeof x === 'string') : typeof v === 'string') && !p.check?.(v),
          },
        ]),
      ),
    ]),
  )
}

/**
 * Every section and setting config.toml may hold, and what each takes. A name not here is a
 * typo (refused with the nearest known one), never ignored in favour of the default.
 * `*` stands for any key: the names of [remotes] are the user's own.
 */
function schema(): Record<string, Record<string, Rule> | Record<string, Record<string, Rule>>> {
  return {
    query: {lens: {takes: 'a lens expression in quotes', ok: (v) => typeof v === 'string'}},
    store: {
      skew_seconds: {takes: 'a number of seconds >= 0', ok: (v) => typeof v === 'number' && v >= 0},
      busy_timeout_seconds: {takes: 'a number of seconds from 0 (do not wait) to 86400', ok: (v) => typeof v === 'number' && v >= 0 && v <= 86_400},
    },
    trust: {pretrusted: agentList},
    serve: {
      allow_agents: agentList,
      max_connections: {takes: 'a whole number of connections >= 0 (0: no limit)', ok: (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0},
    },
    sync: {
      idle_timeout_seconds: {
        takes: `a number of seconds from 0 (wait for ever) to ${MAX_TIMER_SECONDS} (about 24 days)`,
        ok: (v) => typeof v === 'number' && v >= 0 && v <= MAX_TIMER_SECONDS,
      },
      release_after_seconds: {
        takes: `a number of seconds from 0 (hold the store to the end) to ${MAX_TIMER_SECONDS} (about 24 days)`,
        ok: (v) => typeof v === 'number' && v >= 0 && v <= MAX_TIMER_SECONDS,
      },
    },
    // An empty one would resolve to the store's own directory: a sync with itself, reported as done.
    remotes: {'*': {takes: 'a URL or path in quotes, not empty', ok: (v) => typeof v === 'string' && v.trim() !== ''}},
    lenses: lensRules(),
  }
}

/**
 * The line a section or setting is on, for messages: its [header] line, or the `key =` line
 * inside that section. Undefined when it is written some other way (dotted keys, inline tables).
 */
function lineOf(text: string, section: string[], key?: string): number | undefined {
  const lines = text.split(/\r?\n/)
  const header = (l: string) => l.match(/^\s*\[\s*([^\][]+?)\s*\]\s*(#.*)?$/)?.[1].split(/\s*\.\s*/).map((p) => p.replace(/^"(.*)"$/, '$1'))
  const at = section.length === 0 ? -1 : lines.findIndex((l) => header(l)?.join('.') === section.join('.'))
  if (key === undefined) return at < 0 ? undefined : at + 1
  for (let i = at + 1; i < lines.length; i++) {
    if (i > at + 1 && header(lines[i])) break
    if (new RegExp(`^\\s*"?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?\\s*=`).test(lines[i])) return i + 1
  }
  return undefined
}

export function readConfig(dir: string | undefined): StoreConfig {
  if (!dir) return {...DEFAULT_CONFIG}
  const path = join(dir, CONFIG_FILE)
  if (!existsSync(path)) return {...DEFAULT_CONFIG}
  const text = readFileSync(path, 'utf8')
  let raw: Record<string, unknown>
  try {
    raw = parseToml(text) as Record<string, unknown>
  } catch (e) {
    const where = e instanceof TomlError ? ` at line ${e.line}, column ${e.column}` : ''
    throw new UserError(`${path} is not valid TOML${where}: ${(e as Error).message.split('\n')[0]}`, {code: 'config', hint: 'fix the file by hand'})
  }
  checkTable(raw, [], schema(), {path, text})
  const query = (raw.query ?? {}) as Record<string, unknown>
  const store = (raw.store ?? {}) as Record<string, unknown>
  const trust = (raw.trust ?? {}) as Record<string, unknown>
  const sync = (raw.sync ?? {}) as Record<string, unknown>
  return {
    lens: typeof query.lens === 'string' ? query.lens : DEFAULT_CONFIG.lens,
    skewSeconds: typeof store.skew_seconds === 'number' ? store.skew_seconds : DEFAULT_CONFIG.skewSeconds,
    busyTimeoutSeconds: typeof store.busy_timeout_seconds === 'number' ? store.busy_timeout_seconds : DEFAULT_CONFIG.busyTimeoutSeconds,
    pretrusted: (trust.pretrusted ?? []) as string[],
    remotes: (raw.remotes ?? {}) as Record<string, string>,
    ...(typeof sync.idle_timeout_seconds === 'number' ? {syncIdleTimeoutSeconds: sync.idle_timeout_seconds} : {}),
    ...(typeof sync.release_after_seconds === 'number' ? {syncReleaseAfterSeconds: sync.release_after_seconds} : {}),
    raw,
  }
}

type Schema = Record<string, unknown>

/** Check one table against its schema, down through sub-tables; the first problem is the error. */
function checkTable(table: Record<string, unknown>, at: string[], spec: Schema, file: {path: string; text: string}): void {
  // A setting by its `key =` line in this section; a section by its own [header] line.
  const where = (key: string, isSection = false) => {
    const line = isSection ? lineOf(file.text, [...at, key]) : lineOf(file.text, at, key)
    return `${file.path}${line ? `:${line}` : ''}`
  }
  const name = (key: string) => [...at, key].join('.')
  const section = at.length ? `[${at.join('.')}]` : 'the top level'
  for (const [key, value] of Object.entries(table)) {
    // Own names only: a section called [constructor] is a typo, not Object's.
    const rule = (Object.hasOwn(spec, key) ? spec[key] : spec['*']) as Rule | Schema | undefined
    if (rule === undefined) {
      const isSection = isTable(value)
      const known = Object.keys(spec).filter((k) => k !== '*')
      const near = closest(key, known, {max: 1})
      const shown = isSection ? `[${name(key)}]` : name(key)
      throw new UserError(`${where(key, isSection)}: unknown ${isSection ? 'section' : 'setting'} ${shown}${near.length ? `; did you mean ${isSection ? `[${[...at, near[0]].join('.')}]` : [...at, near[0]].join('.')}?` : ''}`, {
        code: 'config',
        hint: known.length ? `${section} may hold: ${known.join(', ')} (docs/lenses.md, Configuration); fix or remove it` : `${section} takes no settings; remove it`,
      })
    }
    if (typeof (rule as Rule).ok === 'function') {
      const r = rule as Rule
      if (!r.ok(value)) {
        const got = Array.isArray(value) && r.bad ? r.bad(value) : value
        throw new UserError(`${where(key)}: ${name(key)} must be ${r.takes}, got ${show(got)}`, {code: 'config', hint: `fix ${name(key)} in the file (or remove it to use the default)`})
      }
      continue
    }
    // A section: its value must be a table.
    if (!isTable(value)) throw new UserError(`${where(key)}: [${name(key)}] must be a table, got ${show(value)}`, {code: 'config', hint: `write it as a [${name(key)}] section (or remove it)`})
    checkTable(value, [...at, key], rule as Schema, file)
  }
}

const show = (v: unknown): string => (v instanceof Date ? v.toISOString() : JSON.stringify(v) ?? String(v))
