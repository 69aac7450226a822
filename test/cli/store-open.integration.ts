/**
 * How commands open a store: every one waits, as its config says, for a store another process
 * holds (init and migrate too), and a store named by its file (`--store .steme/store.duckdb`) is
 * the same store, with the same config and state, as the one found by searching. Real DuckDB
 * files and real processes hold the stores.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {BIN, holdStore, sandbox, type Sandbox} from '../helpers/cli.js'
import {sandboxFrom} from '../helpers/fixture.js'

let sb: Sandbox
let dotSteme: string
let file: string
let config: string
// One store made by `steme init`; each test changes a copy of it.
let fresh: Sandbox
beforeAll(() => {
  fresh = sandbox('steme-store-open-')
  expect(fresh.run(['init']).code).toBe(0)
})
afterAll(() => fresh?.cleanup())
beforeEach(() => {
  sb = sandboxFrom(fresh, 'steme-store-open-')
  dotSteme = join(sb.dir, '.steme')
  file = join(dotSteme, 'store.duckdb')
  config = join(dotSteme, 'config.toml')
})
afterEach(() => sb.cleanup())

const setConfig = (from: string, to: string, path = config) => {
  const text = readFileSync(path, 'utf8')
  expect(text).toContain(from)
  writeFileSync(path, text.replace(from, to))
}

/**
 * Run steme on a terminal (script(1) gives it one, so it notes a wait that lasts), and resolve
 * `waiting` once it says it waits for the store; `done` with its exit code and all it printed.
 */
function onTerminal(args: string[]): {waiting: Promise<void>; done: Promise<{code: number | null; out: string}>; proc: ChildProcess} {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  const proc = spawn('script', ['-qec', cmd, '/dev/null'], {cwd: sb.dir, env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  const done = new Promise<{code: number | null; out: string}>((r) => proc.once('close', (code) => r({code, out})))
  const waiting = new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d
      if (out.includes('waiting for the store')) resolve()
    })
    void done.then(({code}) => reject(new Error(`steme ${args.join(' ')} ended (${code}) without waiting for the store:\n${out}`)))
  })
  return {waiting, done, proc}
}

/**
 * x:1 p is 1 by the confidence lens (asserted with 0.9) and 2 by recency (asserted later, by
 * another agent, with 0.1).
 */
function twoAnswers(): void {
  expect(sb.run(['assert', 'x:1', 'p', '1', '--confidence', '0.9']).code).toBe(0)
  expect(sb.run(['assert', 'x:1', 'p', '2', '--confidence', '0.1'], {env: {STEME_KEY: '22'.repeat(32)}}).code).toBe(0)
}

/** The lock error every command gives once the wait is up, for a store a plain node process holds. */
const waitedError = (pid: number) =>
  new RegExp(`^error: the store .* is in use by another process \\(pid ${pid}: \\S*node; waited \\d+(\\.\\d)? s\\)\\nhint: .*\`\\[store\\] busy_timeout_seconds\` in the store's config.toml sets how long commands wait for the store`)

describe('init and migrate wait for a held store as every command does', () => {
  it('give up with the same message once the store config’s busy timeout is up', async () => {
    sb.run(['assert', 'a:1', 'p', '1'])
    expect(sb.run(['init', '--dir', join(sb.dir, 'other')]).code).toBe(0)
    const other = join(sb.dir, 'other', '.steme')
    setConfig('busy_timeout_seconds = 10', 'busy_timeout_seconds = 0.4')
    const held = await holdStore(file)
    try {
      // A command that opens a runtime, for comparison.
      expect(sb.run(['stats']).stderr).toMatch(waitedError(held.pid))
      for (const args of [['init'], ['migrate', '--from', '.steme', '--to', 'copy.duckdb'], ['migrate', '--from', other, '--to', file]]) {
        const r = sb.run(args)
        expect(r.code, args.join(' ')).toBe(1)
        expect(r.stderr, args.join(' ')).toMatch(waitedError(held.pid))
        expect(r.stdout, args.join(' ')).toBe('')
      }
      expect(existsSync(join(sb.dir, 'copy.duckdb'))).toBe(false)
    } finally {
      await held.release()
    }
  })

  it('go on once the holder lets go, after saying on a terminal that they wait', async () => {
    sb.run(['assert', 'a:1', 'p', '1'])
    // Long enough never to run out here: the holder lets go as soon as the wait is noted.
    setConfig('busy_timeout_seconds = 10', 'busy_timeout_seconds = 300')
    for (const [args, expected] of [
      [['migrate', '--from', '.steme', '--to', 'copy.duckdb'], /1 record read, 1 added, 0 already present, 0 bad/],
      [['init'], /Already a store: /],
    ] as const) {
      const held = await holdStore(file)
      const run = onTerminal([...args])
      try {
        await run.waiting
      } finally {
        await held.release()
      }
      const {code, out} = await run.done
      expect(code, out).toBe(0)
      expect(out).toContain('waiting for the store: another process holds it (for up to 300 s)')
      expect(out).toMatch(expected)
    }
    expect(sb.json<{records: number}>(['stats', '--store', 'copy.duckdb']).records).toBe(1)
  })
})

describe('--store naming the store file is the store its directory is', () => {
  it("reads the config beside it: the default lens, a broken setting, the busy timeout", async () => {
    twoAnswers()
    setConfig('lens = "recency"', 'lens = "confidence"')
    const winner = (args: string[], env?: NodeJS.ProcessEnv) => {
      const r = sb.run(['query', 'x:1', 'p', '--json', ...args], {env})
      expect(r.code, r.stderr).toBe(0)
      return (JSON.parse(r.stdout) as {resolutions: Array<{winner: {value: unknown}}>}).resolutions[0].winner.value
    }
    expect(winner([])).toBe(1)
    expect(winner(['--store', '.steme/store.duckdb'])).toBe(1)
    expect(winner(['--store', file])).toBe(1)
    expect(winner([], {STEME_STORE: file})).toBe(1)
    // A setting the config gets wrong is refused the same way, whichever way the store is named.
    setConfig('skew_seconds = 60', 'skew_seconds = "abc"')
    for (const args of [['stats'], ['stats', '--store', file]]) {
      const r = sb.run(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(/config\.toml:\d+: store\.skew_seconds must be a number of seconds >= 0, got "abc"/)
    }
    setConfig('skew_seconds = "abc"', 'skew_seconds = 60')
    // Its busy timeout: 0, so no wait at all (the default would wait 10 s, and say so).
    setConfig('busy_timeout_seconds = 10', 'busy_timeout_seconds = 0')
    const held = await holdStore(file)
    try {
      const r = sb.run(['assert', 'x:1', 'p', '3', '--store', file])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(new RegExp(`^error: the store .* is in use by another process \\(pid ${held.pid}: \\S*node\\)\\n`))
      expect(r.stderr).not.toContain('waited')
    } finally {
      await held.release()
    }
  })

  it('keeps its remotes in the config beside it', () => {
    const add = sb.run(['remote', 'add', 'origin', 'https://steme.example:7411', '--store', file])
    expect(add.code, add.stderr).toBe(0)
    expect(sb.json<{remotes: Array<{name: string; url: string}>}>(['remote', 'list'])).toMatchObject({remotes: [{name: 'origin', url: 'https://steme.example:7411'}]})
    expect(readFileSync(config, 'utf8')).toContain('origin = "https://steme.example:7411"')
  })

  it('shares its state: a `steme serve` started on the file is found by commands that search for the store', async () => {
    setConfig('busy_timeout_seconds = 10', 'busy_timeout_seconds = 0.4')
    sb.run(['assert', 'x:1', 'p', '1'])
    const state = join(dotSteme, 'state', 'serve.json')
    const elsewhere = join(`${file}.state`, 'serve.json')
    const daemon = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--store', file], {cwd: sb.dir, env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
    let log = ''
    daemon.stdout!.on('data', (d) => (log += d))
    daemon.stderr!.on('data', (d) => (log += d))
    const exited = new Promise((r) => daemon.once('exit', r))
    try {
      for (let i = 0; i < 300 && !existsSync(state) && !existsSync(elsewhere) && daemon.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50))
      expect(existsSync(state), log).toBe(true)
      expect(existsSync(elsewhere)).toBe(false)
      const r = sb.run(['stats', '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toContain(`steme serve (pid ${daemon.pid}) holds this store: going through it`)
      expect((JSON.parse(r.stdout) as {records: number}).records).toBe(1)
    } finally {
      daemon.kill('SIGTERM')
      await exited
    }
  })

  it('a DuckDB file of another name is a store of its own, without the config beside it', () => {
    twoAnswers()
    expect(sb.run(['migrate', '--from', '.steme', '--to', join(dotSteme, 'copy.duckdb')]).code).toBe(0)
    setConfig('lens = "recency"', 'lens = "confidence"')
    const q = sb.json<{resolutions: Array<{winner: {value: unknown}}>}>(['query', 'x:1', 'p', '--store', join(dotSteme, 'copy.duckdb')])
    expect(q.resolutions[0].winner.value).toBe(2)
  })
})
