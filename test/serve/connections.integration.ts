/** The daemon's bound on open connections, over real sockets: past it a connection is closed unanswered, and that is logged and counted, never silent. */
import {appendFileSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {join} from 'node:path'
import {Writable} from 'node:stream'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {makeEnv, startDaemon, steme, type Daemon, type Env} from './daemon.js'
import {startHarness, type Harness} from './harness.js'

/** A connection that has had an answer on it (so the daemon has surely counted it), kept open. */
async function openConnection(url: string): Promise<Socket> {
  const u = new URL(url)
  const sock = connect(Number(u.port), u.hostname)
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject)
    sock.once('connect', () => sock.write(`GET /healthz HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`))
    sock.once('data', () => resolve())
  })
  return sock
}

/** Connect, send a request, and read until the daemon closes: what came back ('' when it closed unanswered). */
function exchange(url: string, request: string): Promise<string> {
  const u = new URL(url)
  return new Promise((resolve) => {
    const sock = connect(Number(u.port), u.hostname, () => sock.write(request))
    let text = ''
    sock.on('data', (d) => (text += d))
    // A reset is an unanswered close too.
    sock.on('error', () => undefined)
    sock.on('close', () => resolve(text))
  })
}

/** A request on a connection already open, read to its end (it asks the daemon to close after). */
function ask(sock: Socket, url: string, path: string, token: string): Promise<string> {
  return new Promise((resolve) => {
    let text = ''
    sock.on('data', (d) => (text += d))
    sock.on('close', () => resolve(text))
    sock.write(`GET ${path} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`)
  })
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1])

describe('--max-connections, in-process', () => {
  let h: Harness | undefined
  const open: Socket[] = []
  afterEach(async () => {
    for (const s of open.splice(0)) s.destroy()
    await h?.stop()
    h = undefined
  })

  it('past the bound a new connection is closed unanswered; it is logged once, counted every time, and the bound is on open connections', async () => {
    let log = ''
    const stream = new Writable({
      write(chunk, _enc, done) {
        log += chunk
        done()
      },
    })
    h = await startHarness({maxConnections: 3, logger: {level: 'warn', stream}})
    for (let i = 0; i < 3; i++) open.push(await openConnection(h.url))
    const get = `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`
    for (let i = 0; i < 3; i++) expect(await exchange(h.url, get), `connection ${i + 4}`).toBe('')
    const lines = log.split('\n').filter((l) => l.includes('refused'))
    // A flood of refusals is one line (then one per 10 s with the count), not one line each.
    expect(lines).toHaveLength(1)
    const line = JSON.parse(lines[0])
    expect(line).toMatchObject({level: 40, maxConnections: 3, refused: 1, remoteAddress: '127.0.0.1'})
    expect(line.msg).toMatch(/^refused a connection \(the last from 127\.0\.0\.1\): 3 connections are open, the most --max-connections allows; raise it/)
    // Counted on a connection already open.
    const metrics = await ask(open.shift()!, h.url, '/metrics', h.read)
    expect(metrics).toMatch(/^HTTP\/1\.1 200/)
    expect(metric(metrics, 'steme_http_connections_refused_total')).toBe(3)
    expect(metric(metrics, 'steme_http_connections_open')).toBe(3)
    expect(h.server.metrics.totals.refused).toBe(3)
    // That connection closed: there is room for one more.
    let answered = ''
    for (let i = 0; i < 50 && !answered; i++) answered = await exchange(h.url, get)
    expect(answered).toMatch(/^HTTP\/1\.1 200/)
  })

  it('refusals after the logged one reach the log with their count, even when no later one comes: by the end of the quiet period, or as the daemon stops', async () => {
    let log = ''
    const stream = new Writable({
      write(chunk, _enc, done) {
        log += chunk
        done()
      },
    })
    const refusals = () => log.split('\n').filter((l) => l.includes('refused')).map((l) => JSON.parse(l) as {refused: number; msg: string})
    const get = `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`
    // A quiet period short enough to wait out.
    h = await startHarness({maxConnections: 1, refusalLogMs: 200, logger: {level: 'warn', stream}})
    open.push(await openConnection(h.url))
    for (let i = 0; i < 4; i++) expect(await exchange(h.url, get)).toBe('')
    const sum = () => refusals().reduce((t, l) => t + l.refused, 0)
    for (let i = 0; i < 500 && sum() < 4; i++) await new Promise((r) => setTimeout(r, 20))
    // Every refusal is in the log, the first at once, the rest (in one line, unless the machine
    // was slow enough for the quiet period to end between them) after it.
    expect(sum()).toBe(4)
    expect(refusals()[0].refused).toBe(1)
    expect(refusals().length).toBeGreaterThan(1)
    expect(refusals().at(-1)!.msg).toMatch(/^refused (\d+ connections|a connection) \(the last from 127\.0\.0\.1\)/)
    // A longer one: the count still held back is logged as the daemon stops.
    await h.stop()
    log = ''
    h = await startHarness({maxConnections: 1, logger: {level: 'warn', stream}})
    open.push(await openConnection(h.url))
    for (let i = 0; i < 3; i++) expect(await exchange(h.url, get)).toBe('')
    expect(refusals().map((l) => l.refused)).toEqual([1])
    for (const s of open.splice(0)) s.destroy()
    await h.stop()
    h = undefined
    expect(refusals().map((l) => l.refused)).toEqual([1, 2])
  })

  it('0 turns the bound off', async () => {
    h = await startHarness({maxConnections: 0})
    for (let i = 0; i < 20; i++) open.push(await openConnection(h.url))
    expect(h.server.app.server.maxConnections ?? Infinity).toBe(Infinity)
    expect(await exchange(h.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200/)
  })
})

describe('steme serve --max-connections and [serve] max_connections', () => {
  let d: Daemon | undefined
  const open: Socket[] = []
  afterEach(async () => {
    for (const s of open.splice(0)) s.destroy()
    await d?.stop()
    d = undefined
  })
  // One store for these tests, made once: each starts its own daemons on it, and the one that
  // changes its config puts the config back.
  let store: Env | undefined
  beforeAll(async () => {
    store = makeEnv()
    const init = await steme(store, ['init', '--dir', store.dir])
    expect(init.code, init.stderr).toBe(0)
  })
  afterAll(() => {
    if (store) rmSync(store.dir, {recursive: true, force: true})
  })
  const inStore = (fn: (e: Env) => Promise<void>) => fn(store!)

  it('the flag bounds the daemon, its JSON log says so, and the CLI that meets the bound is told why', async () => {
    await inStore(async (e) => {
      d = await startDaemon(e, ['--max-connections', '2'])
      for (let i = 0; i < 2; i++) open.push(await openConnection(d.url))
      const stats = await steme(e, ['stats'])
      expect(stats.code, stats.stderr).toBe(1)
      expect(stats.stderr).toContain(`cannot reach steme serve at ${d.url}: ECONNRESET`)
      expect(stats.stderr).toMatch(/as many connections open as --max-connections allows/)
      for (let i = 0; i < 50 && !d.log().includes('refused a connection'); i++) await new Promise((r) => setTimeout(r, 20))
      const line = d.log().split('\n').find((l) => l.includes('refused a connection'))
      expect(line, d.log()).toBeDefined()
      expect(JSON.parse(line!)).toMatchObject({maxConnections: 2, refused: 1})
    })
  })

  it('at start it warns when connections could run out of files before the bound refuses them', async () => {
    const limits = (() => {
      try {
        return Number(/^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1])
      } catch {
        return NaN
      }
    })()
    if (!Number.isFinite(limits)) return
    await inStore(async (e) => {
      d = await startDaemon(e, ['--max-connections', '0'])
      for (let i = 0; i < 50 && !d.log().includes('steme serve ready'); i++) await new Promise((r) => setTimeout(r, 20))
      expect(d.log()).toContain(`this process may open at most ${limits} files, and each connection takes one: connections past about ${limits - 64} fail unseen before any limit refuses them`)
      await d.stop()
      d = await startDaemon(e, ['--max-connections', String(limits)])
      for (let i = 0; i < 50 && !d.log().includes('steme serve ready'); i++) await new Promise((r) => setTimeout(r, 20))
      expect(d.log()).toContain(`before --max-connections (${limits}) refuses them`)
      await d.stop()
      d = await startDaemon(e, ['--max-connections', String(Math.max(1, limits - 100))])
      for (let i = 0; i < 50 && !d.log().includes('steme serve ready'); i++) await new Promise((r) => setTimeout(r, 20))
      expect(d.log()).toContain('steme serve ready')
      expect(d.log()).not.toContain('may open at most')
    })
  })

  it('the config sets it when the flag does not; a value that is not a count is a config error', async () => {
    await inStore(async (e) => {
      const config = join(e.dir, '.steme', 'config.toml')
      const original = readFileSync(config, 'utf8')
      try {
        appendFileSync(config, '\n[serve]\nmax_connections = 1\n')
        d = await startDaemon(e)
        open.push(await openConnection(d.url))
        expect(await exchange(d.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('')
        await d.stop()
        // The flag wins over the config.
        d = await startDaemon(e, ['--max-connections', '5'])
        open.push(await openConnection(d.url))
        expect(await exchange(d.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200/)
        await d.stop()
        d = undefined
        writeFileSync(config, original + '\n[serve]\nmax_connections = -1\n')
        const bad = await steme(e, ['serve', '--port', '0'])
        expect(bad.code).toBe(2)
        expect(bad.stderr).toMatch(/serve\.max_connections must be a whole number of connections >= 0/)
      } finally {
        writeFileSync(config, original)
      }
    })
  })
})
