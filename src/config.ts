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
  const query = (raw.query ?? {}) as Record<string, unknown>
  const store = (raw.store ?? {}) as Record<string, unknown>
  const trust = (raw.trust ?? {}) as Record<string, unknown>
  const remotes = (raw.remotes ?? {}) as Record<string, unknown>
  const cfg: StoreConfig = {
    lens: typeof query.lens === 'string' ? query.lens : DEFAULT_CONFIG.lens,
    skewSeconds: typeof store.skew_seconds === 'number' ? store.skew_seconds : DEFAULT_CONFIG.skewSeconds,
    pretrusted: Array.isArray(trust.pretrusted) ? trust.pretrusted.filter((x): x is string => typeof x === 'string') : [],
    remotes: Object.fromEntries(Object.entries(remotes).filter(([, v]) => typeof v === 'string')) as Record<string, string>,
    raw,
  }
  if (!(cfg.skewSeconds >= 0)) throw new UserError(`${path}: store.skew_seconds must be a number of seconds >= 0`, {code: 'config'})
  return cfg
}
