/** Commands that only read open the store read-only; one that must write says why it cannot, not to run `steme init`. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {BIN, holdStore, sandbox, type RunResult, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
let store: string
beforeAll(() => {
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
  expect(sb.run(['assert', 't:x', 'p', 'A']).code).toBe(0)
  expect(sb.run(['assert', 't:x', 'p', 'B']).code).toBe(0)
  store = join(sb.dir, '.steme', 'store.duckdb')
})
afterAll(() => sb.cleanup())

describe('commands that only read share the store with other readers', () => {
  it('fsck, push and sync-serve --read-only run while another process (a query, another fsck) reads the store; a write is refused as in use', async () => {
    const held = await holdStore(store, {readOnly: true})
    try {
      const fsck = sb.run(['fsck'])
      expect(fsck.stderr).not.toContain('in use')
      expect(fsck.code).toBe(0)
      expect(fsck.stdout).toContain('2 records checked, 0 bad')
      expect(sb.run(['init', '--dir', join(sb.dir, 'peer')]).code).toBe(0)
      const push = sb.run(['push', join(sb.dir, 'peer', '.steme')])
      expect(push.code, push.stderr).toBe(0)
      expect(sb.run(['query', 't:x', 'p', '--store', join(sb.dir, 'peer', '.steme'), '--json']).stdout).toContain('"B"')
      // A pull-only sync server reads only: it starts, and prints its URL.
      const serving = spawn(process.execPath, [BIN, 'sync-serve', '--http', '0', '--read-only'], {cwd: sb.dir, env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
      const started = await new Promise<string>((resolve) => {
        let out = ''
        serving.stdout.on('data', (d) => (out += d).includes('\n') && resolve(out))
        serving.stderr.on('data', (d) => resolve(`stderr: ${d}`))
      })
      serving.kill('SIGTERM')
      await new Promise((r) => serving.once('exit', r))
      expect(started).toMatch(/^http:\/\/127\.0\.0\.1:\d+/)
      // A writer waits for the store (briefly here), then says it is in use.
      const config = join(sb.dir, '.steme', 'config.toml')
      writeFileSync(config, readFileSync(config, 'utf8').replace('busy_timeout_seconds = 10', 'busy_timeout_seconds = 0.2'))
      const assert = sb.run(['assert', 't:x', 'p', 'C'])
      expect(assert.code).toBe(1)
      expect(assert.stderr).toMatch(/is in use by another process \(pid \d+: \S*node; waited /)
    } finally {
      await held.release()
    }
  })
})

/**
 * Run steme as a user who may read the store but not write it: this user after `chmod a-w`, or,
 * as root (whom permissions do not stop), the user nobody through setpriv.
 */
function unwritableRunner(): {run(args: string[]): RunResult; restore(): void} | undefined {
  const dir = join(sb.dir, '.steme')
  if (process.getuid?.() !== 0) {
    chmodSync(store, 0o444)
    chmodSync(dir, 0o555)
    return {
      run: (args) => sb.run(args),
      restore() {
        chmodSync(dir, 0o755)
        chmodSync(store, 0o644)
      },
    }
  }
  if (spawnSync('setpriv', ['--version']).status !== 0) return undefined
  const home = join(sb.dir, 'nobody')
  mkdirSync(home, {recursive: true})
  chownSync(home, 65534, 65534)
  chmodSync(sb.dir, 0o755)
  return {
    run(args) {
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args], {
        cwd: sb.dir,
        env: {...sb.env, HOME: home, XDG_CONFIG_HOME: join(home, 'xdg')},
        encoding: 'utf8',
      })
      return {code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr}
    },
    restore: () => chmodSync(sb.dir, 0o700),
  }
}

describe('a store this user cannot write', () => {
  it('readers work; writers say the store is not writable and what to do, not to create one', (ctx) => {
    const as = unwritableRunner()
    if (!as) return ctx.skip()
    try {
      for (const args of [['fsck'], ['query', 't:x', 'p'], ['stats'], ['export']]) {
        const r = as.run(args)
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
      }
      // The reliability lens caches its training only where it can write: here it answers without.
      const rel = as.run(['query', 't:x', 'p', '--lens', 'reliability', '--json'])
      expect(rel.code, rel.stderr).toBe(0)
      expect(JSON.parse(rel.stdout).resolutions[0].candidates.length).toBe(2)
      for (const args of [['assert', 't:x', 'p', 'C'], ['retract', '--source', 'doi:x']]) {
        const r = as.run(args)
        expect(r.code, r.stderr).toBe(1)
        expect(r.stderr).toContain(`the store ${store} is not writable by this user`)
        expect(r.stderr).toContain('commands that only read it work as it is')
        expect(r.stderr).not.toContain('steme init')
      }
    } finally {
      as.restore()
    }
    expect(sb.run(['query', 't:x', 'p', '--json']).stdout).toContain('"B"')
  })
})
