/** Run the built steme binary as a user would, in a temp home with its own keys. */
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export interface Sandbox {
  dir: string
  env: NodeJS.ProcessEnv
  run(args: string[], opts?: {input?: string; cwd?: string; env?: NodeJS.ProcessEnv}): RunResult
  runAsync(args: string[], opts?: {input?: string; cwd?: string}): Promise<RunResult>
  json<T = unknown>(args: string[], opts?: {input?: string; cwd?: string; env?: NodeJS.ProcessEnv}): T
  cleanup(): void
}

export function sandbox(prefix = 'steme-cli-'): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const env: NodeJS.ProcessEnv = {PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, 'xdg'), NO_COLOR: '1'}
  const sb: Sandbox = {
    dir,
    env,
    run(args, opts = {}) {
      const r = spawnSync(process.execPath, [BIN, ...args], {cwd: opts.cwd ?? dir, env: {...env, ...opts.env}, input: opts.input ?? '', encoding: 'utf8', maxBuffer: 256 * 1024 * 1024})
      return {code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr}
    },
    runAsync(args, opts = {}) {
      return new Promise((resolve) => {
        const p = spawn(process.execPath, [BIN, ...args], {cwd: opts.cwd ?? dir, env})
        let stdout = ''
        let stderr = ''
        p.stdout.on('data', (d) => (stdout += d))
        p.stderr.on('data', (d) => (stderr += d))
        p.on('close', (code) => resolve({code: code ?? -1, stdout, stderr}))
        p.stdin.end(opts.input ?? '')
      })
    },
    json(args, opts) {
      const r = sb.run([...args, '--json'], opts)
      if (r.code !== 0) throw new Error(`steme ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
      return JSON.parse(r.stdout)
    },
    cleanup() {
      rmSync(dir, {recursive: true, force: true})
    },
  }
  return sb
}

/**
 * A process (no steme) that holds a DuckDB file open, for writing or read-only, until released.
 * It keeps its instance and connection referenced: DuckDB lets go of the file lock when the
 * instance is garbage collected, which freed the store part-way through a test on a busy machine.
 * It collects garbage once before it says it holds the file, so a holder that lost its
 * references fails every time, not on a slow day.
 */
export async function holdStore(path: string, opts: {readOnly?: boolean} = {}): Promise<{pid: number; release(): Promise<void>}> {
  const options = opts.readOnly ? `{access_mode: 'READ_ONLY'}` : '{}'
  const script = `const {DuckDBInstance} = await import('@duckdb/node-api')
const i = await DuckDBInstance.create(process.argv[1], ${options}); const c = await i.connect()
globalThis.held = [i, c]; setInterval(() => {}, 1 << 30)
gc(); await new Promise((r) => setTimeout(r, 50)); console.log('held')`
  const p = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', script, path], {cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit']})
  const exited = new Promise((r) => p.once('exit', r))
  await new Promise<void>((resolve, reject) => {
    p.stdout!.once('data', () => resolve())
    p.once('exit', (code) => reject(new Error(`the holder exited (${code}) before holding ${path}`)))
  })
  return {
    pid: p.pid!,
    async release() {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
      await exited
    },
  }
}

/**
 * Run SQL on a sandbox's store file with DuckDB itself, as someone with the file could: in another
 * process, so the store is closed again before steme opens it.
 */
export function tamperStore(sb: Pick<Sandbox, 'dir'>, sql: string): void {
  const script = `const {DuckDBInstance} = await import('@duckdb/node-api')
const i = await DuckDBInstance.create(process.argv[1]); const c = await i.connect()
await c.run(process.argv[2]); c.closeSync(); i.closeSync()`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, join(sb.dir, '.steme', 'store.duckdb'), sql], {cwd: process.cwd(), encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`tampering with the store failed: ${r.stderr}`)
}
