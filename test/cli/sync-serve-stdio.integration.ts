/**
 * `sync-serve --stdio --store <path>` (what an SSH sync runs on the remote) starts without
 * oclif; any other form goes through oclif. Both must serve the same protocol and report the
 * same errors with the same exit codes.
 */
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {appendFileSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {recordLine} from '../../src/core/seal.js'
import {openStore} from '../../src/runtime.js'
import {MessageReader, PREAMBLE, frameMessage} from '../../src/sync/framing.js'
import {opening} from '../../src/sync/reconcile.js'
import {fastSyncServeArgs} from '../../src/sync/stdio-main.js'
import {CAPS} from '../../src/sync/server.js'
import {LocalView} from '../../src/sync/view.js'
import {PROTOCOL, T, VERSION, decode, encode} from '../../src/sync/wire.js'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'
import {makeRecords} from '../sync/helpers.js'

/** Run steme with binary stdin and stdout. */
function runBinary(args: string[], input: Uint8Array, cwd: string, env: NodeJS.ProcessEnv): Promise<{code: number; stdout: Buffer; stderr: string}> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], {cwd, env})
    const out: Buffer[] = []
    let stderr = ''
    p.stdout.on('data', (d: Buffer) => out.push(d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('close', (code) => resolve({code: code ?? -1, stdout: Buffer.concat(out), stderr}))
    p.stdin.end(input)
  })
}

let sb: Sandbox
beforeAll(() => {
  sb = sandbox('steme-stdio-')
  expect(sb.run(['init', '--dir', 'store']).code).toBe(0)
})
afterAll(() => sb?.cleanup())

describe('sync-serve --stdio', () => {
  it('takes the oclif-free start for the exact remote form only', () => {
    expect(fastSyncServeArgs(['sync-serve', '--stdio', '--store', '/srv/a b'])).toBe('/srv/a b')
    expect(fastSyncServeArgs(['sync-serve', '--stdio', '--store', '--help'])).toBeUndefined()
    expect(fastSyncServeArgs(['sync-serve', '--stdio', '--read-only', '--store', '/srv'])).toBeUndefined()
    expect(fastSyncServeArgs(['sync-serve', '--store', '/srv', '--stdio'])).toBeUndefined()
    expect(fastSyncServeArgs(['sync-serve', '--stdio', '--store', '/srv', '--json'])).toBeUndefined()
  })

  // The first form starts without oclif, the second through it.
  const forms = (store: string) => [
    ['sync-serve', '--stdio', '--store', store],
    ['sync-serve', '--store', store, '--stdio'],
  ]

  it('answers a hello the same way by both starts', async () => {
    const hello = encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: CAPS, mode: 'pull'}}])
    for (const args of forms('store')) {
      const r = await runBinary(args, frameMessage(hello), sb.dir, sb.env)
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.subarray(0, PREAMBLE.length).toString()).toBe(PREAMBLE)
      const msgs = new MessageReader(true).push(r.stdout)
      expect(msgs).toHaveLength(1)
      const [head] = decode(msgs[0])
      expect(head).toMatchObject({t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, records: 0}})
    }
  })

  it('refuses a length over the bound by both starts: ERROR too_large, exit 1, the store released', async () => {
    for (const args of forms('store')) {
      const r = await runBinary(args, Buffer.from([0xff, 0xff, 0xff, 0xff]), sb.dir, sb.env)
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toMatch(/^error: sync-serve: the peer announced a message of 4294967295 bytes/)
      expect(r.stderr).not.toMatch(/internal error/)
      const msgs = new MessageReader(true).push(r.stdout)
      expect(decode(msgs[0])).toMatchObject([{t: T.Error, code: 'too_large'}])
      expect(sb.run(['stats', '--store', 'store']).code).toBe(0)
    }
  })

  it('reports a missing store the same way by both starts: one error line, a hint, exit 2', () => {
    const results = forms('nowhere').map((args) => sb.run(args))
    for (const r of results) {
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^error: no store at .*nowhere.*\nhint: /)
      // Only the preamble, said before the store is opened: a client knows a steme answered.
      expect(r.stdout).toBe('steme-sync/1\n')
    }
    expect(results[0].stderr).toBe(results[1].stderr)
  })
})

/** A `sync-serve --stdio` child whose stdin stays open until the test ends it, as sshd keeps a lost session's open. */
function serving(args: string[]): {p: ChildProcessWithoutNullStreams; msgs: Uint8Array[]; stderr: () => string; exited: Promise<number | null>} {
  const p = spawn(process.execPath, [BIN, ...args], {cwd: sb.dir, env: sb.env})
  const reader = new MessageReader(true)
  const msgs: Uint8Array[] = []
  let stderr = ''
  p.stdout.on('data', (d: Buffer) => msgs.push(...reader.push(d)))
  p.stderr.on('data', (d) => (stderr += d))
  return {p, msgs, stderr: () => stderr, exited: new Promise((r) => p.on('close', r))}
}

/** Whether another process can open the store for writing now (the server has let go of it). */
async function writable(dir: string): Promise<boolean> {
  try {
    await (await openStore(join(sb.dir, dir, '.steme', 'store.duckdb'))).close()
    return true
  } catch (e) {
    if (/in use by another steme process/.test((e as Error).message)) return false
    throw e
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const helloRequest = () => frameMessage(encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: CAPS, mode: 'pull'}}]))

describe('sync-serve --stdio --idle-timeout', () => {
  it('a client that stays connected but sends nothing: it stops, says why, exits 1 and lets go of the store', async () => {
    expect(sb.run(['init', '--dir', 'idle']).code).toBe(0)
    const s = serving(['sync-serve', '--stdio', '--store', 'idle', '--idle-timeout', '1'])
    try {
      s.p.stdin.write(helloRequest())
      while (s.msgs.length < 1 && s.p.exitCode === null) await sleep(10)
      expect(decode(s.msgs[0])[0]).toMatchObject({t: T.Hello})
      // Serving: no other process may write the store.
      expect(await writable('idle')).toBe(false)
      // Then nothing more: stdin stays open.
      expect(await s.exited).toBe(1)
      expect(s.stderr()).toMatch(/^error: sync-serve: no request from the client for 1 s \(--idle-timeout\): the client is gone .*; stopped serving and let go of the store\nhint: .*--idle-timeout, or `\[sync\] idle_timeout_seconds` in the store's config.toml, sets how long/)
      expect(await writable('idle')).toBe(true)
    } finally {
      s.p.kill('SIGKILL')
    }
  })

  it('a client that takes none of the answer (its network gone mid-answer): it stops all the same, exits 1 and lets go of the store', async () => {
    expect(sb.run(['init', '--dir', 'stuck']).code).toBe(0)
    const store = await openStore(join(sb.dir, 'stuck', '.steme', 'store.duckdb'))
    await store.insert(await makeRecords(3000, {tag: 'stuck'}))
    await store.close()
    const s = serving(['sync-serve', '--stdio', '--store', 'stuck', '--idle-timeout', '1'])
    try {
      // Never read: once the pipe is full, the server's write of its ~1 MB answer waits.
      s.p.stdout.pause()
      s.p.stdout.removeAllListeners('data')
      s.p.stdin.write(frameMessage(encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: CAPS, mode: 'pull'}}, ...(await opening(await LocalView.load(new MemoryStore())))])))
      expect(await s.exited).toBe(1)
      // Those two lines only: the answer still queued does not hold the process up (oclif would wait 10 s for it, then complain).
      expect(s.stderr()).toMatch(/^error: sync-serve: the client took none of the answer for 1 s \(--idle-timeout\): .*\nhint: [^\n]*\n$/)
      expect(await writable('stuck')).toBe(true)
    } finally {
      s.p.kill('SIGKILL')
    }
  })

  it('a healthy session longer than the timeout, with pauses shorter than it, is served to its end (exit 0)', async () => {
    expect(sb.run(['init', '--dir', 'healthy']).code).toBe(0)
    const s = serving(['sync-serve', '--stdio', '--store', 'healthy', '--idle-timeout', '1.5'])
    try {
      for (let i = 1; i <= 8; i++) {
        s.p.stdin.write(helloRequest())
        while (s.msgs.length < i && s.p.exitCode === null) await sleep(10)
        expect(s.p.exitCode, s.stderr()).toBe(null)
        await sleep(400)
      }
      s.p.stdin.end()
      expect(await s.exited, s.stderr()).toBe(0)
      expect(s.stderr()).toBe('')
      expect(s.msgs.map((m) => decode(m)[0].t)).toEqual(Array(8).fill(T.Hello))
    } finally {
      s.p.kill('SIGKILL')
    }
  })

  it("the remote store's config sets the timeout for SSH clients, which send no flag (the oclif-free start), and the flag wins over it", async () => {
    expect(sb.run(['init', '--dir', 'configured']).code).toBe(0)
    const config = join(sb.dir, 'configured', '.steme', 'config.toml')
    appendFileSync(config, '\n[sync]\nidle_timeout_seconds = 1\n')
    const args = ['sync-serve', '--stdio', '--store', 'configured']
    expect(fastSyncServeArgs(args)).toBeDefined()
    const s = serving(args)
    try {
      expect(await s.exited).toBe(1)
      expect(s.stderr()).toMatch(/^error: sync-serve: no request from the client for 1 s \(\[sync\] idle_timeout_seconds in the store's config.toml\): /)
    } finally {
      s.p.kill('SIGKILL')
    }
    // 0 in the config waits for ever; the flag still ends it.
    writeFileSync(config, readFileSync(config, 'utf8').replace('idle_timeout_seconds = 1', 'idle_timeout_seconds = 0'))
    const flagged = serving([...args, '--idle-timeout', '1'])
    try {
      expect(await flagged.exited).toBe(1)
      expect(flagged.stderr()).toMatch(/^error: sync-serve: no request from the client for 1 s \(--idle-timeout\): /)
    } finally {
      flagged.p.kill('SIGKILL')
    }
    writeFileSync(config, readFileSync(config, 'utf8').replace('idle_timeout_seconds = 0', 'idle_timeout_seconds = "10m"'))
    const bad = sb.run(args)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/config\.toml:\d+.*sync\.idle_timeout_seconds.*a number of seconds from 0 \(wait for ever\) to 2147483/)
  })

  it('refuses a bad value, and the flag without --stdio (exit 2)', () => {
    const bad = sb.run(['sync-serve', '--stdio', '--store', 'store', '--idle-timeout', '10m'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^error: --idle-timeout: expected a number of seconds \(such as 600, or 0 to wait for ever\) but received: 10m\n/)
    const long = sb.run(['sync-serve', '--stdio', '--store', 'store', '--idle-timeout', '2147484'])
    expect(long.code).toBe(2)
    expect(long.stderr).toMatch(/2147484 seconds is more than the longest timeout, 2147483 \(about 24 days\): use 0 to wait for ever/)
    const http = sb.run(['sync-serve', '--http', '0', '--store', 'store', '--idle-timeout', '5'])
    expect(http.code).toBe(2)
    expect(http.stderr).toMatch(/^error: --idle-timeout applies to --stdio only\n/)
  })
})

describe('sync-serve --stdio --release-after', () => {
  /** Insert `n` records into a store directory from this process (it must be free). */
  const add = async (dir: string, n: number, tag: string) => {
    const store = await openStore(join(sb.dir, dir, '.steme', 'store.duckdb'))
    try {
      await store.insert(await makeRecords(n, {tag}))
    } finally {
      await store.close()
    }
  }
  /** The `i`th answer (from 1), once it comes; with `send`, after sending a hello for it. */
  const hello = async (s: ReturnType<typeof serving>, i: number, send = true) => {
    if (send) s.p.stdin.write(helloRequest())
    while (s.msgs.length < i && s.p.exitCode === null) await sleep(10)
    expect(s.msgs.length, s.stderr()).toBe(i)
    return decode(s.msgs[i - 1])[0] as {t: string; hello: {records: number}}
  }

  it('a silent client: the store is let go of, another process writes it, and the next request opens it again and sees those records', async () => {
    expect(sb.run(['init', '--dir', 'lease']).code).toBe(0)
    await add('lease', 40, 'lease-a')
    const s = serving(['sync-serve', '--stdio', '--store', 'lease', '--release-after', '0.3'])
    try {
      expect((await hello(s, 1)).hello.records).toBe(40)
      // Held while the client is active, then let go of (the session is still open).
      expect(await writable('lease')).toBe(false)
      while (!(await writable('lease'))) await sleep(50)
      expect(s.p.exitCode).toBe(null)
      // Another writer gets in; the session's next request reads the store afresh.
      await add('lease', 25, 'lease-b')
      expect((await hello(s, 2)).hello.records).toBe(65)
      s.p.stdin.end()
      expect(await s.exited, s.stderr()).toBe(0)
      expect(s.stderr()).toBe('')
    } finally {
      s.p.kill('SIGKILL')
    }
  })

  it('a store another steme holds is waited for: at start, and when a session that let go of it gets its next request', async () => {
    expect(sb.run(['init', '--dir', 'waits']).code).toBe(0)
    // B holds the store to its end (0: never let go); A starts meanwhile and waits for it.
    const b = serving(['sync-serve', '--stdio', '--store', 'waits', '--release-after', '0'])
    const a = serving(['sync-serve', '--stdio', '--store', 'waits', '--release-after', '0.3'])
    try {
      expect((await hello(b, 1)).hello.records).toBe(0)
      a.p.stdin.write(helloRequest())
      await sleep(500)
      // A is still waiting, not failed; B ends, and A answers.
      expect(a.p.exitCode, a.stderr()).toBe(null)
      expect(a.msgs).toHaveLength(0)
      b.p.stdin.end()
      expect(await b.exited, b.stderr()).toBe(0)
      expect((await hello(a, 1, false)).hello.records).toBe(0)
      // A lets go once its client is silent; C takes the store and holds it while A's next request waits.
      while (!(await writable('waits'))) await sleep(50)
      const c = serving(['sync-serve', '--stdio', '--store', 'waits', '--release-after', '0'])
      try {
        expect((await hello(c, 1)).hello.records).toBe(0)
        a.p.stdin.write(helloRequest())
        await sleep(500)
        expect(a.p.exitCode, a.stderr()).toBe(null)
        expect(a.msgs).toHaveLength(1)
        c.p.stdin.end()
        expect(await c.exited, c.stderr()).toBe(0)
      } finally {
        c.p.kill('SIGKILL')
      }
      expect((await hello(a, 2, false)).hello.records).toBe(0)
      a.p.stdin.end()
      expect(await a.exited, a.stderr()).toBe(0)
    } finally {
      a.p.kill('SIGKILL')
      b.p.kill('SIGKILL')
    }
  })

  it("the remote store's config sets the release time for SSH clients (the oclif-free start, no flag)", async () => {
    expect(sb.run(['init', '--dir', 'lets-go']).code).toBe(0)
    appendFileSync(join(sb.dir, 'lets-go', '.steme', 'config.toml'), '\n[sync]\nrelease_after_seconds = 0.3\n')
    const args = ['sync-serve', '--stdio', '--store', 'lets-go']
    expect(fastSyncServeArgs(args)).toBeDefined()
    const s = serving(args)
    try {
      await hello(s, 1)
      while (!(await writable('lets-go'))) await sleep(50)
      expect(s.p.exitCode).toBe(null)
      expect((await hello(s, 2)).hello.records).toBe(0)
      s.p.stdin.end()
      expect(await s.exited, s.stderr()).toBe(0)
    } finally {
      s.p.kill('SIGKILL')
    }
  })

  it('0 holds the store for the whole session; a bad value, and the flag without --stdio, are refused (exit 2)', async () => {
    expect(sb.run(['init', '--dir', 'held']).code).toBe(0)
    const s = serving(['sync-serve', '--stdio', '--store', 'held', '--release-after', '0'])
    try {
      await hello(s, 1)
      await sleep(700)
      expect(await writable('held')).toBe(false)
      s.p.stdin.end()
      expect(await s.exited, s.stderr()).toBe(0)
    } finally {
      s.p.kill('SIGKILL')
    }
    const bad = sb.run(['sync-serve', '--stdio', '--store', 'held', '--release-after', 'soon'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^error: --release-after: expected a number of seconds \(such as 10, or 0 to hold the store to the end\) but received: soon\n/)
    const http = sb.run(['sync-serve', '--http', '0', '--store', 'held', '--release-after', '5'])
    expect(http.code).toBe(2)
    expect(http.stderr).toMatch(/^error: --release-after applies to --stdio only\n/)
  })
})

describe('sync-serve --stdio over a memory: store', () => {
  it('never lets go of it: the store lives in the process, and closing it would lose what was pushed', async () => {
    const s = serving(['sync-serve', '--stdio', '--store', 'memory:', '--release-after', '0.2'])
    try {
      const pushed = await makeRecords(5, {tag: 'mem'})
      s.p.stdin.write(frameMessage(encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: CAPS, mode: 'push'}}, ...pushed.map((r) => ({t: T.Record, line: recordLine(r.canonical, r.record.id, r.record.sig)}) as const)])))
      while (s.msgs.length < 1 && s.p.exitCode === null) await sleep(10)
      expect(decode(s.msgs[0])).toContainEqual(expect.objectContaining({t: T.Ack, added: 5}))
      // Silent for several times --release-after, then the next request still finds the records.
      await sleep(800)
      s.p.stdin.write(helloRequest())
      while (s.msgs.length < 2 && s.p.exitCode === null) await sleep(10)
      expect(decode(s.msgs[1])[0]).toMatchObject({t: T.Hello, hello: {records: 5}})
      s.p.stdin.end()
      expect(await s.exited, s.stderr()).toBe(0)
    } finally {
      s.p.kill('SIGKILL')
    }
  })
})
