/** Real processes for tests: a fresh store, `steme` commands, and `steme serve` on a free loopback port. */
import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {promisify} from 'node:util'

const BIN = resolve(import.meta.dirname, '../../bin/run.js')
const pexec = promisify(execFile)

export interface Env {
  dir: string
  env: NodeJS.ProcessEnv
}

/** A directory for a store, with its own config home and no steme settings from outside. */
export function makeEnv(prefix = 'steme-daemon-'): Env {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const env: NodeJS.ProcessEnv = {...process.env, XDG_CONFIG_HOME: join(dir, 'xdg'), STEME_STORE: join(dir, '.steme')}
  delete env.STEME_KEY
  delete env.STEME_REMOTE
  delete env.STEME_TOKEN
  return {dir, env}
}

export async function steme(e: Env, args: string[], input?: string): Promise<{code: number; stdout: string; stderr: string}> {
  const p = pexec(process.execPath, [BIN, ...args], {cwd: e.dir, env: e.env, maxBuffer: 64 * 1024 * 1024})
  if (input !== undefined) p.child.stdin!.end(input)
  try {
    const {stdout, stderr} = await p
    return {code: 0, stdout, stderr}
  } catch (err) {
    const x = err as {code: number; stdout: string; stderr: string}
    return {code: x.code, stdout: x.stdout, stderr: x.stderr}
  }
}

export interface Daemon {
  proc: ChildProcess
  url: string
  /** The daemon's session token (write role), from state/serve.json. */
  token: string
  exited: Promise<number | null>
  log(): string
  stop(): Promise<void>
}

/** `steme serve --port 0` on the store of `e`, once it has written state/serve.json. */
export async function startDaemon(e: Env, extra: string[] = []): Promise<Daemon> {
  const state = join(e.dir, '.steme', 'state', 'serve.json')
  rmSync(state, {force: true})
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...extra], {cwd: e.dir, env: e.env, stdio: ['ignore', 'pipe', 'pipe']})
  let log = ''
  proc.stdout!.on('data', (d) => (log += d))
  proc.stderr!.on('data', (d) => (log += d))
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)))
  for (let i = 0; i < 300 && !existsSync(state) && proc.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50))
  if (!existsSync(state)) throw new Error(`daemon did not start: ${log}`)
  const {url, token} = JSON.parse(readFileSync(state, 'utf8'))
  return {
    proc,
    url,
    token,
    exited,
    log: () => log,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM')
      await exited
    },
  }
}

/** A fresh store (`steme init`) for `fn`, removed after. */
export async function inFreshStore<T>(fn: (e: Env) => Promise<T>, prefix?: string): Promise<T> {
  const e = makeEnv(prefix)
  try {
    const init = await steme(e, ['init', '--dir', e.dir])
    if (init.code !== 0) throw new Error(`steme init failed: ${init.stderr}`)
    return await fn(e)
  } finally {
    rmSync(e.dir, {recursive: true, force: true})
  }
}
