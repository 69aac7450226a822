/** Stores, tokens and `steme serve` as real processes, for the CLI-against-a-daemon test files. */
import {spawn, type ChildProcess} from 'node:child_process'
import {cpSync, existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {TokenFile, type Role} from '../../src/serve/tokens.js'
import {steme} from './daemon.js'

export const BIN = resolve(import.meta.dirname, '../../bin/run.js')

export interface Env {
  dir: string
  env: NodeJS.ProcessEnv
}

export function makeEnv(): Env {
  const dir = mkdtempSync(join(tmpdir(), 'steme-cli-serve-'))
  const env = {...process.env, XDG_CONFIG_HOME: join(dir, 'xdg'), STEME_STORE: join(dir, '.steme'), STEME_KEY: '', STEME_REMOTE: '', STEME_TOKEN: ''}
  delete env.STEME_KEY
  delete env.STEME_REMOTE
  delete env.STEME_TOKEN
  return {dir, env}
}

let template: Promise<Env> | undefined

/**
 * A store as `steme init` leaves it, with its signing key, in a directory of its own. `steme init`
 * runs once per test file, and each store is a copy of that one: these tests are about the daemon
 * and its clients, not init, and a copy is a store init made (nothing in it names its directory).
 * Stores copied from the one template share its key, as stores made on one machine by one user do.
 */
export async function freshEnv(): Promise<Env> {
  template ??= (async () => {
    const t = makeEnv()
    const init = await steme(t, ['init', '--dir', t.dir])
    if (init.code !== 0) throw new Error(`steme init failed: ${init.stderr}`)
    return t
  })()
  return copyOf(await template)
}

/** A copy of the store and key of `t` (which no daemon serves), in a directory of its own. */
export function copyOf(t: Env): Env {
  const e = makeEnv()
  cpSync(join(t.dir, '.steme'), join(e.dir, '.steme'), {recursive: true})
  cpSync(join(t.dir, 'xdg'), join(e.dir, 'xdg'), {recursive: true})
  return e
}

/** Remove the template `freshEnv` copies (an afterAll of the file). */
export async function removeTemplate(): Promise<void> {
  const t = await template?.catch(() => undefined)
  template = undefined
  if (t) rmSync(t.dir, {recursive: true, force: true})
}

/** A fresh store directory for `fn`; removed after. */
export async function inFreshStore(fn: (e: Env) => Promise<void>): Promise<void> {
  const e = await freshEnv()
  try {
    await fn(e)
  } finally {
    rmSync(e.dir, {recursive: true, force: true})
  }
}

/**
 * A bearer token of `role` for the store of `e`, made in this process by the code behind
 * `steme serve token create` (whose own test spawns the command): a running daemon reads the file.
 */
export function tokenFor(e: Env, role: Role, name?: string): string {
  return TokenFile.forStateDir(join(e.dir, '.steme', 'state')).create(role, name).token
}

export interface Daemon {
  proc: ChildProcess
  url: string
  exited: Promise<number | null>
  log: () => string
}

export async function startDaemon(e: Env, extra: string[] = []): Promise<Daemon> {
  const state = join(e.dir, '.steme', 'state', 'serve.json')
  rmSync(state, {force: true})
  const proc = spawn(process.execPath, [BIN, 'serve', ...(extra.includes('--port') ? [] : ['--port', '0']), ...extra], {cwd: e.dir, env: e.env, stdio: ['ignore', 'pipe', 'pipe']})
  let log = ''
  proc.stdout!.on('data', (d) => (log += d))
  proc.stderr!.on('data', (d) => (log += d))
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)))
  for (let i = 0; i < 300 && !existsSync(state); i++) await new Promise((r) => setTimeout(r, 50))
  if (!existsSync(state)) throw new Error(`daemon did not start: ${log}`)
  const {url} = JSON.parse(readFileSync(state, 'utf8'))
  return {proc, url, exited, log: () => log}
}

/** `steme serve` running for `fn`, stopped (SIGTERM) after; returns it, to read its exit and last log. */
export async function whileServing(e: Env, extra: string[], fn: (d: Daemon) => Promise<void>): Promise<Daemon> {
  const d = await startDaemon(e, extra)
  try {
    await fn(d)
  } finally {
    d.proc.kill('SIGTERM')
    await d.exited
  }
  return d
}
