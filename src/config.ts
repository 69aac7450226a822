/** Finding a store (like git finds a repo) and reading its config file `.steme/config.toml`. */
import {existsSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {parse as parseToml, TomlError} from 'smol-toml'
import {UserError} from './core/errors.js'

export const STEME_DIR = '.steme'
export const DB_FILE = 'store.duckdb'
export const CONFIG_FILE = 'config.toml'

export interface StoreConfig {
  /** Default lens expression for `steme query`. */
  lens: string
  /** Records stamped further in the future than this are refused. */
  skewSeconds: number
  /** Agents trusted without endorsement (the store's own key always is). */
  pretrusted: string[]
  /** Named remotes for sync. */
  remotes: Record<string, string>
  /** Everything else in the file, for the parts that own it (lenses, serve). */
  raw: Record<string, unknown>
}

export const DEFAULT_CONFIG: StoreConfig = {lens: 'recency', skewSeconds: 60, pretrusted: [], remotes: {}, raw: {}}

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

/** Resolve `--store`, else STEME_STORE, else the nearest `.steme/` upward from cwd. */
export function locateStore(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): StoreLocation {
  const given = flag ?? env.STEME_STORE
  const via = flag ? '--store' : 'STEME_STORE'
  if (given) {
    if (isUrl(given)) return {url: given, via}
    const p = resolve(cwd, given)
    if (existsSync(p) && statSync(p).isDirectory()) {
      const dir = p.endsWith(STEME_DIR) || existsSync(join(p, DB_FILE)) ? p : join(p, STEME_DIR)
      return {dir, url: join(dir, DB_FILE), via}
    }
    return {dir: p.endsWith('.duckdb') ? undefined : undefined, url: p, via}
  }
  let d = resolve(cwd)
  for (;;) {
    const candidate = join(d, STEME_DIR)
    if (existsSync(join(candidate, DB_FILE)) || existsSync(join(candidate, CONFIG_FILE))) return {dir: candidate, url: join(candidate, DB_FILE), via: 'search'}
    const up = dirname(d)
    if (up === d) break
    d = up
  }
  throw new UserError('no steme store here or in any parent directory', {
    code: 'no_store',
    hint: 'run `steme init` to create one here, or pass --store <path> (or set STEME_STORE)',
  })
}

export function readConfig(dir: string | undefined): StoreConfig {
  if (!dir) return {...DEFAULT_CONFIG}
  const path = join(dir, CONFIG_FILE)
  if (!existsSync(path)) return {...DEFAULT_CONFIG}
  let raw: Record<string, unknown>
  try {
    raw = parseToml(readFileSync(path, 'utf8')) as Record<string, unknown>
  } catch (e) {
    const where = e instanceof TomlError ? ` at line ${e.line}, column ${e.column}` : ''
    throw new UserError(`${path} is not valid TOML${where}: ${(e as Error).message.split('\n')[0]}`, {code: 'config', hint: 'fix the file by hand'})
  }
  // A setting of the wrong type is an error naming it, never silently replaced by its default.
  const bad = (key: string, want: string, got: unknown): UserError =>
    new UserError(`${path}: ${key} must be ${want}, got ${JSON.stringify(got) ?? String(got)}`, {code: 'config', hint: `fix ${key} in the file (or remove it to use the default)`})
  const table = (name: string): Record<string, unknown> => {
    const t = raw[name] ?? {}
    if (typeof t !== 'object' || t === null || Array.isArray(t)) throw bad(`[${name}]`, 'a table', t)
    return t as Record<string, unknown>
  }
  const query = table('query')
  const store = table('store')
  const trust = table('trust')
  const remotes = table('remotes')
  if (query.lens !== undefined && typeof query.lens !== 'string') throw bad('query.lens', 'a lens expression in quotes', query.lens)
  const skew = store.skew_seconds ?? DEFAULT_CONFIG.skewSeconds
  if (typeof skew !== 'number' || !(skew >= 0)) throw bad('store.skew_seconds', 'a number of seconds >= 0', skew)
  const pretrusted = trust.pretrusted ?? []
  if (!Array.isArray(pretrusted)) throw bad('trust.pretrusted', 'a list of agent keys (64 hex chars each)', pretrusted)
  for (const a of pretrusted) if (typeof a !== 'string' || !/^[0-9a-f]{64}$/.test(a)) throw bad('trust.pretrusted', 'a list of agent keys (64 lowercase hex chars each, as `steme whoami` prints them)', a)
  // An empty one would resolve to the store's own directory: a sync with itself, reported as done.
  for (const [name, url] of Object.entries(remotes)) if (typeof url !== 'string' || url.trim() === '') throw bad(`remotes.${name}`, 'a URL or path in quotes, not empty', url)
  return {
    lens: typeof query.lens === 'string' ? query.lens : DEFAULT_CONFIG.lens,
    skewSeconds: skew,
    pretrusted: pretrusted as string[],
    remotes: remotes as Record<string, string>,
    raw,
  }
}
