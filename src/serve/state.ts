/** Where a store's daemon state lives (state/serve.json, state/tokens.json), so local commands can find a running `steme serve`. */
import {mkdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import type {StoreLocation} from '../config.js'
import {replaceFileSync} from '../output-file.js'

export interface ServeState {
  url: string
  pid: number
  /** A write token valid while this daemon runs, for commands of the same user on this machine. */
  token: string
  started: string
  store: string
}

/** What to do instead, for a store given by URL (PostgreSQL), which has no directory for the daemon's tokens and state. */
export const URL_STORE_NO_DAEMON =
  'serve a .steme directory or a DuckDB file; a PostgreSQL store needs no daemon: any number of steme processes, on any machines, open it at once by its URL (--store or STEME_STORE)'

/** `.steme/state/` (gitignored), or `<file>.state/` for a DuckDB file not named store.duckdb (see locateStore). */
export function stateDir(location: Pick<StoreLocation, 'dir' | 'url'>): string | undefined {
  if (location.dir) return join(location.dir, 'state')
  if (/^[a-z][a-z0-9+.-]*:/i.test(location.url)) return undefined
  return `${location.url}.state`
}

const file = (dir: string) => join(dir, 'serve.json')

export function writeServeState(dir: string, state: ServeState): void {
  mkdirSync(dir, {recursive: true, mode: 0o700})
  replaceFileSync(file(dir), JSON.stringify(state, null, 2) + '\n', 0o600)
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The running daemon of this store, or undefined (no file, unreadable, or its process is gone). */
export function readServeState(dir: string | undefined): ServeState | undefined {
  if (!dir) return undefined
  let s: ServeState
  try {
    s = JSON.parse(readFileSync(file(dir), 'utf8')) as ServeState
  } catch {
    return undefined
  }
  if (typeof s?.url !== 'string' || typeof s.pid !== 'number' || !alive(s.pid) || !servesHere(s.pid)) return undefined
  return s
}

/**
 * Whether the process is a `steme serve` at all: after a crash or a reboot its pid may belong to
 * another program, and going through a daemon that is not there fails every command. Where
 * /proc shows command lines (Linux), the process must have been started with "serve"; elsewhere
 * a live pid is taken at its word.
 */
function servesHere(pid: number): boolean {
  let cmdline: string
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return true
  }
  return cmdline.split('\0').includes('serve')
}

/** Remove serve.json if it is this process's. */
export function removeServeState(dir: string, pid = process.pid): void {
  try {
    const s = JSON.parse(readFileSync(file(dir), 'utf8')) as ServeState
    if (s.pid === pid) rmSync(file(dir), {force: true})
  } catch {
    // Already gone.
  }
}
