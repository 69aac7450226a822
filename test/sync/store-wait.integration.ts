/**
 * Opening a store another steme process holds, as `sync-serve --stdio` does: it waits while the
 * holder is another command (it may let go soon), and refuses at once when the holder is
 * `steme serve` (which holds it until stopped). Real processes hold the store; the waits are
 * counted through an injected sleep.
 */
import {spawn, spawnSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {UserError} from '../../src/core/errors.js'
import {MessageReader, frameMessage} from '../../src/sync/framing.js'
import {openRuntime, openStore} from '../../src/runtime.js'
import {CAPS} from '../../src/sync/server.js'
import {PROTOCOL, T, VERSION, encode} from '../../src/sync/wire.js'
import {BIN} from '../helpers/cli.js'
import {makeEnv, startDaemon, steme, type Env} from '../serve/daemon.js'

let e: Env
beforeAll(async () => {
  e = makeEnv('steme-store-wait-')
  expect((await steme(e, ['init', '--dir', e.dir])).code).toBe(0)
})
afterAll(() => rmSync(e.dir, {recursive: true, force: true}))

/** A `sync-serve --stdio` that holds the store until its stdin ends, once it has answered a hello. */
async function holder() {
  const p = spawn(process.execPath, [BIN, 'sync-serve', '--stdio', '--release-after', '0'], {cwd: e.dir, env: e.env})
  const reader = new MessageReader(true)
  let answered = false
  p.stdout.on('data', (d: Buffer) => (answered ||= reader.push(d).length > 0))
  p.stdin.write(frameMessage(encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: CAPS, mode: 'pull'}}])))
  while (!answered && p.exitCode === null) await new Promise((r) => setTimeout(r, 10))
  expect(answered).toBe(true)
  return {p, exited: new Promise((r) => p.on('close', r))}
}

describe('opening a store another steme holds', () => {
  it('waits while another steme holds the store, and opens it once that one lets go', async () => {
    const h = await holder()
    let sleeps = 0
    try {
      const rt = await openRuntime({env: e.env, cwd: e.dir, wait: {ms: 60_000, pollMs: 50, sleep: async (ms) => {
        sleeps++
        // After a few tries, the holder ends.
        if (sleeps === 3) {
          h.p.stdin.end()
          await h.exited
        }
        await new Promise((r) => setTimeout(r, ms))
      }}})
      await rt.close()
      expect(sleeps).toBeGreaterThanOrEqual(3)
    } finally {
      h.p.kill('SIGKILL')
    }
  })

  it('gives up with the lock error once the time is up', async () => {
    const h = await holder()
    let sleeps = 0
    try {
      const err = await openRuntime({env: e.env, cwd: e.dir, wait: {ms: 300, pollMs: 50, sleep: async (ms) => {
        sleeps++
        await new Promise((r) => setTimeout(r, ms))
      }}}).catch((x: unknown) => x)
      expect(err).toBeInstanceOf(UserError)
      expect(err).toMatchObject({code: 'locked', message: expect.stringMatching(new RegExp(`is in use by another steme process \\(pid ${h.p.pid}: steme sync-serve; waited 0\\.\\d s\\)$`)), hint: expect.stringMatching(/`\[store\] busy_timeout_seconds` in the store's config.toml sets how long commands wait for the store \(default 10\)$/)})
      expect(sleeps).toBeGreaterThan(0)
    } finally {
      h.p.stdin.end()
      await h.exited
    }
  })

  it('refuses a store held by `steme serve` at once, naming the daemon', async () => {
    const d = await startDaemon(e)
    let sleeps = 0
    try {
      const err = await openRuntime({env: e.env, cwd: e.dir, wait: {ms: 60_000, pollMs: 50, sleep: async () => {
        sleeps++
      }}}).catch((x: unknown) => x)
      expect(err).toMatchObject({code: 'locked', message: expect.stringMatching(/is held by `steme serve` \(pid \d+, http:\/\/127\.0\.0\.1:\d+\)$/)})
      expect(sleeps).toBe(0)
    } finally {
      await d.stop()
    }
  })
})

describe('a remote steme waiting for its store', () => {
  it('says steme-sync/1 at once, before it has the store: a client tells it from a command that hangs', async () => {
    const h = await holder()
    // The exact form an SSH client runs (bin/run.js's fast start), and the same through oclif.
    for (const args of [['sync-serve', '--stdio', '--store', e.dir], ['sync-serve', '--stdio', '--store', e.dir, '--read-only']]) {
      const waiter = spawn(process.execPath, [BIN, ...args], {cwd: e.dir, env: e.env})
      try {
        const reader = new MessageReader(true)
        waiter.stdout.on('data', (d: Buffer) => reader.push(d))
        while (!reader.started && waiter.exitCode === null) await new Promise((r) => setTimeout(r, 10))
        expect(reader.started).toBe(true)
        // Still waiting for the store: not ended, and the holder holds it.
        expect(waiter.exitCode).toBeNull()
        expect(h.p.exitCode).toBeNull()
      } finally {
        waiter.kill('SIGKILL')
      }
    }
    h.p.stdin.end()
    await h.exited
  })
})

describe('letting go of the store on the way out', () => {
  it('a runtime whose clock fails to save still closes the store (the error still surfaces)', async () => {
    const rt = await openRuntime({env: e.env, cwd: e.dir})
    rt.clock.tick()
    rt.store.setMeta = () => Promise.reject(new Error('no space left on device'))
    await expect(rt.close()).rejects.toThrow('no space left on device')
    // Another process gets the store.
    const other = await steme(e, ['stats', '--json'])
    expect(other.code, other.stderr).toBe(0)
  })

  it('a DuckDB file that is not a steme store is let go of when refused', async () => {
    const file = join(e.dir, 'other.duckdb')
    const {DuckDBInstance} = await import('@duckdb/node-api')
    const db = await DuckDBInstance.create(file)
    const conn = await db.connect()
    await conn.run('CREATE TABLE t (x INTEGER)')
    conn.closeSync()
    db.closeSync()
    await expect(openStore(file)).rejects.toMatchObject({code: 'no_store', message: expect.stringMatching(/is a DuckDB file but not a steme store$/)})
    // Another process can open it for writing: the refused open holds no lock.
    const child = spawnSync(process.execPath, ['-e', `import('@duckdb/node-api').then(async ({DuckDBInstance}) => { const d = await DuckDBInstance.create(process.argv[1]); const c = await d.connect(); await c.run('INSERT INTO t VALUES (1)'); console.log('ok') })`, file], {cwd: process.cwd(), encoding: 'utf8'})
    expect(child.stderr).toBe('')
    expect(child.stdout.trim()).toBe('ok')
  })
})
