/** The CLI and the daemon as real processes: the daemon's log and terminal, errors and self over --remote, sync over HTTP (the commands that write through a daemon are in cli-daemon.integration.ts). */
import {execFileSync, spawn} from 'node:child_process'
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {initHash} from '../../src/core/hash.js'
import {assertion} from '../helpers/records.js'
import {freeFetchBlockedPort} from '../helpers/ports.js'
import {BIN, copyOf, freshEnv, inFreshStore, removeTemplate, tokenFor, whileServing, type Env} from './cli-env.js'
import {steme} from './daemon.js'
import {ndjson} from './harness.js'

/** Two stores signed by the same key (copies of one template, as every store here): `a`, holding two facts about site:a, to serve, and `b` to sync with it; both removed after. */
async function inTwoStores(fn: (a: Env, b: Env) => Promise<void>): Promise<void> {
  const a = await freshEnv()
  const b = await freshEnv()
  b.env = {...b.env, XDG_CONFIG_HOME: a.env.XDG_CONFIG_HOME}
  try {
    expect((await steme(a, ['ingest', '-'], '{"subject":"site:a","predicate":"p","value":1}\n{"subject":"site:a","predicate":"q","value":2}\n')).code).toBe(0)
    await fn(a, b)
  } finally {
    rmSync(a.dir, {recursive: true, force: true})
    rmSync(b.dir, {recursive: true, force: true})
  }
}

afterAll(removeTemplate)

describe('steme serve with no tokens yet', () => {
  it('says how to create one, in its log', async () => {
    await inFreshStore((e) =>
      whileServing(e, [], async (d) => {
        for (let i = 0; i < 100 && !/no tokens yet/.test(d.log()); i++) await new Promise((r) => setTimeout(r, 20))
        expect(d.log()).toMatch(/"level":40,.*"msg":"no tokens yet, so only commands on this machine can use the daemon: create one for each client with `steme serve token create --role read\|write\|admin --name <who>`"/)
        expect(d.log()).not.toMatch(/plain HTTP|bad port/)
      }),
    )
  })
})

describe('steme serve counts rejected records next to stored ones', () => {
  /** POST one plain fact (the daemon never signs, so it is rejected) with the daemon's local token. */
  const postPlainFact = async (e: Env, url: string) => {
    const {token} = JSON.parse(readFileSync(join(e.dir, '.steme', 'state', 'serve.json'), 'utf8'))
    const res = await fetch(`${url}/v1/records`, {method: 'POST', headers: {authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson'}, body: '{"subject":"s","predicate":"p","value":1}\n'})
    expect(res.status).toBe(422)
  }

  it('in a pipe: the last log line and the --json result', async () => {
    await inFreshStore(async (e) => {
      const d = await whileServing(e, ['--json'], (d) => postPlainFact(e, d.url))
      expect(await d.exited).toBe(0)
      expect(d.log()).toMatch(/"requests":1,"stored":0,"rejected":1,"msg":"stopped"/)
      const result = d.log().slice(d.log().lastIndexOf('\n{\n') + 1)
      expect(JSON.parse(result)).toEqual({url: d.url, requests: 1, stored: 0, rejected: 1})
    })
  })

  // A terminal for the daemon: util-linux's script(1) gives it one (ink draws the live line only on a TTY).
  const hasScript = (() => {
    try {
      return /util-linux/.test(execFileSync('script', ['--version'], {encoding: 'utf8'}))
    } catch {
      return false
    }
  })()
  interface Terminal {
    /** What the terminal shows: its output with escape sequences taken out. */
    shown: () => string
    /** Waits up to 10 s for the terminal to show `re`. */
    until: (re: RegExp) => Promise<void>
    /** The daemon's URL and pid, from its state file, once it is up. */
    daemon: () => {url: string; pid: number}
    exited: Promise<number | null>
  }
  /**
   * `steme serve --port 0` on a terminal of its own (util-linux's script(1)), with CI unset or
   * set, for `fn`. A failed run leaves neither the daemon nor script(1) behind.
   */
  const onTerminal = async (ci: boolean, fn: (e: Env, t: Terminal) => Promise<void>) =>
    inFreshStore(async (e) => {
      const env = {...e.env}
      delete env.CI
      delete env.CONTINUOUS_INTEGRATION
      if (ci) env.CI = 'true'
      const proc = spawn('script', ['-qfec', `stty cols 250 rows 20; exec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} serve --port 0`, '/dev/null'], {cwd: e.dir, env, stdio: ['ignore', 'pipe', 'pipe']})
      let out = ''
      proc.stdout!.on('data', (d) => (out += d))
      proc.stderr!.on('data', (d) => (out += d))
      const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)))
      const shown = () => out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
      const until = async (re: RegExp) => {
        for (let i = 0; i < 200 && !re.test(shown()); i++) await new Promise((r) => setTimeout(r, 50))
        expect(shown()).toMatch(re)
      }
      const state = join(e.dir, '.steme', 'state', 'serve.json')
      let pid: number | undefined
      const daemon = () => {
        const d = JSON.parse(readFileSync(state, 'utf8')) as {url: string; pid: number}
        pid = d.pid
        return d
      }
      try {
        await fn(e, {shown, until, daemon, exited})
      } finally {
        for (const p of [pid, proc.pid]) {
          try {
            if (p) process.kill(p, 'SIGKILL')
          } catch {
            // already gone
          }
        }
      }
    })
  it.skipIf(!hasScript)('on a terminal: the live status line, even at 0, and the line it stops with', async () => {
    await onTerminal(false, async (e, t) => {
      await t.until(/records stored/)
      const {url, pid} = t.daemon()
      expect(t.shown()).toMatch(/0 records stored · 0 rejected · 0 peers syncing/)
      await postPlainFact(e, url)
      await t.until(/0 records stored · 1 rejected · 0 peers syncing/)
      process.kill(pid, 'SIGTERM')
      await t.until(/stopped: 1 request, 0 records stored, 1 rejected/)
      expect(await t.exited).toBe(0)
    })
  })
  // In CI ink holds frames back until the end, so a live line would show nothing: log lines instead.
  it.skipIf(!hasScript)('on a terminal in CI: log lines, as in a pipe', async () => {
    await onTerminal(true, async (e, t) => {
      await t.until(/"msg":"steme serve ready"/)
      const {url, pid} = t.daemon()
      await postPlainFact(e, url)
      await t.until(/"statusCode":422/)
      process.kill(pid, 'SIGTERM')
      await t.until(/"requests":1,"stored":0,"rejected":1,"msg":"stopped"/)
      expect(await t.exited).toBe(0)
      expect(t.shown()).not.toMatch(/records stored ·/)
    })
  })
  it.skipIf(!hasScript)('on a terminal: a 500 is printed above the status line, under the request id its answer names', async () => {
    await onTerminal(false, async (e, t) => {
      await t.until(/records stored/)
      const {url} = t.daemon()
      const {token} = JSON.parse(readFileSync(join(e.dir, '.steme', 'state', 'serve.json'), 'utf8'))
      // The store made unwritable under the daemon: a directory where DuckDB opens its write-ahead log.
      mkdirSync(join(e.dir, '.steme', 'store.duckdb.wal'))
      await initHash()
      const res = await fetch(`${url}/v1/records`, {method: 'POST', headers: {authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson'}, body: ndjson([assertion({subject: 's', predicate: 'p', value: 1})])})
      expect(res.status).toBe(500)
      const id = res.headers.get('x-request-id')!
      expect((await res.json()).error.message).toContain(`request id ${id}`)
      await t.until(new RegExp(`error: request failed \\(request id ${id}\\): .*Is a directory`))
      // The status line is drawn again below it: it stays at the bottom.
      await t.until(new RegExp(`request id ${id}\\)[^\\n]*\\n[\\s\\S]*serving ${url.replace(/\./g, '\\.')} · `))
      // The session token the request carried is nowhere on the terminal.
      expect(t.shown()).not.toContain(token)
    })
  })
})

describe('error messages name the inputs as the client sent them', () => {
  it('query parameters to an HTTP client, flags to the CLI over --remote', async () => {
    await inFreshStore(async (e) => {
      // A default lens that does not compile: the error says how to go around it.
      const config = join(e.dir, '.steme', 'config.toml')
      writeFileSync(config, readFileSync(config, 'utf8').replace('lens = "recency"', 'lens = "nonesuch"'))
      const token = tokenFor(e, 'read')
      await whileServing(e, [], async (d) => {
        const http = async (path: string) => {
          const res = await fetch(d.url + path, {headers: {authorization: `Bearer ${token}`}})
          const {error} = await res.json()
          // Nothing an HTTP client cannot send: no --flag in the message or the hint.
          expect(`${error.message} ${error.hint}`, path).not.toMatch(/(^|[\s(`])--[a-z]/)
          return error
        }
        expect((await http('/v1/query?subject=s&lens=recency&valid-at=someday')).message).toBe('query parameter valid-at "someday" is not a date')
        expect((await http('/v1/query?subject=s&lens=recency&as-of=someday')).message).toBe('query parameter as-of "someday" is neither a date nor an HLC stamp')
        expect((await http('/v1/query?subject=s')).hint).toBe('fix [query] lens in .steme/config.toml, or pass query parameter lens')
        expect((await http('/v1/conflicts?as-of=someday')).message).toBe('query parameter as-of "someday" is neither a date nor an HLC stamp')
        expect((await http('/v1/conflicts?valid-at=someday')).message).toBe('query parameter valid-at "someday" is not a date')
        expect((await http('/v1/log?since=someday')).message).toBe('query parameter since "someday" is neither a date nor an HLC stamp')
        expect((await http('/v1/conflicts?min-score=1e999')).message).toBe('query parameter min-score: "1e999" is not a finite number')
        const remote = ['--remote', d.url, '--token', token]
        const validAt = await steme(e, ['query', 's', '--lens', 'recency', '--valid-at', 'someday', ...remote])
        expect(validAt.code).toBe(2)
        expect(validAt.stderr).toContain(`--valid-at "someday" is not a date (from ${d.url})`)
        const asOf = await steme(e, ['conflicts', '--as-of', 'someday', ...remote])
        expect(asOf.stderr).toContain(`--as-of "someday" is neither a date nor an HLC stamp (from ${d.url})`)
        const conflictsAt = await steme(e, ['conflicts', '--valid-at', 'someday', ...remote])
        expect(conflictsAt.code).toBe(2)
        expect(conflictsAt.stderr).toContain(`--valid-at "someday" is not a date (from ${d.url})`)
        const lens = await steme(e, ['query', 's', ...remote])
        expect(lens.stderr).toContain('fix [query] lens in .steme/config.toml, or pass --lens')
        expect(validAt.stderr + asOf.stderr + conflictsAt.stderr + lens.stderr).not.toMatch(/query parameter/)
      })
    })
  })
})

/**
 * The store both tests of self over --remote ask, made once and copied for each (as freshEnv
 * copies what init made): the daemon runs with the key init makes; the client signs and asks
 * with another one.
 */
let selfStore: Promise<Env> | undefined
const withSelfStore = (fn: (e: Env, client: Env) => Promise<void>) => async () => {
  selfStore ??= (async () => {
    const e = await freshEnv()
    const client: Env = {...e, env: {...e.env, STEME_KEY: '0c'.repeat(32)}}
    // The client's values first, so plain recency picks the daemon's: only self can pick the client's.
    // Two sources, so among the client's own assertions there is a conflict.
    expect((await steme(client, ['assert', 's', 'p', 'client-other', '--source', 'b'])).code).toBe(0)
    expect((await steme(client, ['assert', 's', 'p', 'client-value', '--source', 'a'])).code).toBe(0)
    expect((await steme(e, ['assert', 's', 'p', 'daemon-value'])).code).toBe(0)
    return e
  })()
  const e = copyOf(await selfStore)
  try {
    await fn(e, {...e, env: {...e.env, STEME_KEY: '0c'.repeat(32)}})
  } finally {
    rmSync(e.dir, {recursive: true, force: true})
  }
}
afterAll(async () => {
  const e = await selfStore?.catch(() => undefined)
  if (e) rmSync(e.dir, {recursive: true, force: true})
})

describe('self in a lens over --remote', () => {
  it(
    "is the caller's key, as locally; to an HTTP client it is the daemon's; without a key here the CLI refuses",
    withSelfStore(async (e, client) => {
      const keyless: Env = {...e, env: {...e.env, XDG_CONFIG_HOME: join(e.dir, 'no-keys')}}
      writeFileSync(
        join(e.dir, '.steme', 'claims.toml'),
        '[[claim]]\nid = "mine"\nsubject = "s"\npredicate = "p"\nexpect = "client-value"\nfrom = "store"\nlens = "agent:self, recency"  # my own word\n',
      )
      const winner = (out: string) => JSON.parse(out).resolutions[0].winner.value
      const query = ['query', 's', 'p', '--lens', 'agent:self, recency', '--json']
      const conflicts = ['conflicts', '--lens', 'agent:"self", consensus', '--json']
      const local = await steme(client, query)
      expect(winner(local.stdout)).toBe('client-value')
      const localConflicts = JSON.parse((await steme(client, conflicts)).stdout).conflicts
      expect(localConflicts).toMatchObject([{subject: 's', predicate: 'p', values: 2}])
      expect((await steme(client, ['verify', '--json'])).code).toBe(0)
      const token = tokenFor(e, 'read')
      await whileServing(e, [], async (d) => {
        const remote = ['--remote', d.url, '--token', token]
        const q = await steme(client, [...query, ...remote])
        expect(q.code, q.stderr).toBe(0)
        expect(winner(q.stdout)).toBe('client-value')
        // The daemon found on this machine is a daemon too.
        const auto = await steme(client, query)
        expect(auto.stderr).toMatch(/holds this store: going through it/)
        expect(winner(auto.stdout)).toBe('client-value')
        const c = await steme(client, [...conflicts, ...remote])
        expect(c.code, c.stderr).toBe(0)
        expect(JSON.parse(c.stdout).conflicts).toEqual(localConflicts)
        // At a date: these values have no valid range, so they held then too, and the answer says the date.
        const dated = await steme(client, [...conflicts, '--valid-at', '2026-01-01', ...remote])
        expect(dated.code, dated.stderr).toBe(0)
        expect(JSON.parse(dated.stdout)).toMatchObject({validAt: '2026-01-01', conflicts: localConflicts})
        const v = await steme(client, ['verify', '--json', ...remote])
        expect(v.code, v.stderr).toBe(0)
        expect(JSON.parse(v.stdout).verdicts).toMatchObject([{id: 'mine', status: 'PASS'}])
        // Over HTTP, self is the daemon's key, in /v1/query and /v1/verify alike.
        const headers = {authorization: `Bearer ${token}`}
        const raw = await fetch(`${d.url}/v1/query?subject=s&predicate=p&lens=${encodeURIComponent('agent:self, recency')}`, {headers}).then((r) => r.json())
        expect(raw.resolutions[0].winner.value).toBe('daemon-value')
        const claims = '[[claim]]\nid = "daemon"\nsubject = "s"\npredicate = "p"\nexpect = "daemon-value"\nfrom = "store"\nlens = "agent:self, recency"\n'
        const rawVerify = await fetch(`${d.url}/v1/verify`, {method: 'POST', headers: {...headers, 'content-type': 'application/json'}, body: JSON.stringify({claims, observations: []})}).then((r) => r.json())
        expect(rawVerify.verdicts).toMatchObject([{id: 'daemon', status: 'PASS'}])
        // No key here: refused, rather than sent to mean the daemon's key.
        for (const args of [[...query, ...remote], ['verify', ...remote]]) {
          const none = await steme(keyless, args)
          expect(none.code, args.join(' ')).toBe(2)
          expect(none.stderr).toMatch(/names self, your own key, and there is no key here: no signing key/)
        }
        // A lens the client cannot rewrite in place is refused too.
        writeFileSync(join(e.dir, '.steme', 'claims.toml'), '[[claim]]\nid = "mine"\nsubject = "s"\npredicate = "p"\nexpect = "client-value"\nfrom = "store"\nlens = \'\'\'agent:self, recency\'\'\'\n')
        const multi = await steme(client, ['verify', ...remote])
        expect(multi.code).toBe(2)
        expect(multi.stderr).toMatch(/claim "mine" names self in a lens written in a way this client cannot put your key in/)
      })
    }),
  )
})

describe('self in a lens over --remote, as the answer shows it', () => {
  it(
    'the lens, its explanations and its errors name self as the user typed it (the JSON is what a local query gives), never the key put in for it',
    withSelfStore(async (e, client) => {
      const me = JSON.parse((await steme(client, ['whoami', '--json'])).stdout).agent as string
      expect(me).toMatch(/^[0-9a-f]{64}$/)
      // A filter and an authority order naming self, in each way they can be written.
      const lens = 'agent:self, then authority(order="self source:a"), else recency'
      const query = ['query', 's', 'p', '--lens', lens, '--json']
      const quoted = ['query', 's', 'p', '--lens', 'agent:"self", then authority(order=self), else recency', '--json']
      const unmatched = ['query', 's', 'p', '--lens', 'authority(order="x:* self"), else recency', '--json']
      const conflicts = ['conflicts', '--lens', 'agent:"self", consensus', '--json']
      writeFileSync(join(e.dir, '.steme', 'claims.toml'), '[[claim]]\nid = "mine"\nsubject = "s"\npredicate = "p"\nexpect = "client-value"\nfrom = "store"\nlens = "agent:self, consensus"\n')
      const local = await Promise.all([query, quoted, unmatched, conflicts].map((args) => steme(client, args)))
      for (const r of local) expect(r.code, r.stderr).toBe(0)
      const localVerify = JSON.parse((await steme(client, ['verify', '--json'])).stdout)
      const badLens = ['query', 's', 'p', '--lens', 'agent:self, then bogus']
      const malformed = ['query', 's', 'p', '--lens', 'agent:self, then recency(']
      const localBad = await steme(client, badLens)
      const localMalformed = await steme(client, malformed)
      const token = tokenFor(e, 'read')
      await whileServing(e, [], async (d) => {
        const remote = ['--remote', d.url, '--token', token]
        for (const [i, args] of [query, quoted, unmatched, conflicts].entries()) {
          const r = await steme(client, [...args, ...remote])
          expect(r.code, r.stderr).toBe(0)
          expect(r.stdout).not.toContain(`agent:${me}`)
          expect(JSON.parse(r.stdout), args.join(' ')).toEqual(JSON.parse(local[i].stdout))
        }
        expect(JSON.parse((await steme(client, [...query, ...remote])).stdout)).toMatchObject({
          lens,
          resolutions: [{lens, explanation: expect.arrayContaining(['filter agent:self kept 2 of 3', expect.stringMatching(/"client-[a-z]+" comes from agent [0-9a-f]{12} \(self\), which matches authority rank 1 \("self"\)/)])}],
        })
        // A claim's lens, in a verdict's message.
        const v = await steme(client, ['verify', '--json', ...remote])
        const verdicts = JSON.parse(v.stdout).verdicts
        expect(verdicts).toEqual(localVerify.verdicts)
        expect(verdicts[0]).toMatchObject({message: expect.stringContaining('(lens agent:self, consensus)'), observed: [{lens: 'agent:self, consensus'}]})
        // The daemon's errors quote the lens as typed, and a column points into it.
        const bad = await steme(client, [...badLens, ...remote])
        expect(bad.code).toBe(2)
        expect(bad.stderr).not.toContain(me)
        expect(bad.stderr.replace(/ \(from http:\/\/[^)]*\)/, '')).toBe(localBad.stderr)
        const mal = await steme(client, [...malformed, ...remote])
        expect(mal.stderr.replace(/ \(from http:\/\/[^)]*\)/, '')).toBe(localMalformed.stderr)
        expect(mal.stderr).toMatch(/^error: malformed lens expression "agent:self, then recency\(": .* at column 26/)
      })
    }),
  )
})


describe('sync over HTTP against steme serve', () => {
  it('read tokens pull, write tokens push; no token is refused; pushes reach /v1/events and metrics', async () => {
    await inTwoStores(async (a, b) => {
      await steme(b, ['ingest', '-'], '{"subject":"site:b","predicate":"p","value":3}\n')
      const read = tokenFor(a, 'read')
      const write = tokenFor(a, 'write')
      await whileServing(a, [], async (d) => {
        const sse = await fetch(`${d.url}/v1/events?subject=site:`, {headers: {authorization: `Bearer ${read}`}})
        const reader = sse.body!.getReader()
        const noToken = await steme(b, ['pull', d.url, '--retries', '0', '--json'])
        expect(noToken.code).not.toBe(0)
        expect(noToken.stderr).toMatch(/refused|401/)
        const pulled = await steme({...b, env: {...b.env, STEME_TOKEN: read}}, ['pull', d.url, '--json'])
        expect(pulled.code, pulled.stderr).toBe(0)
        expect(JSON.parse((await steme(b, ['log', '--json'])).stdout).records).toHaveLength(3)
        const refused = await steme({...b, env: {...b.env, STEME_TOKEN: read}}, ['push', d.url, '--retries', '0', '--json'])
        expect(refused.code).not.toBe(0)
        expect(refused.stderr + refused.stdout).toMatch(/read-only|forbidden/i)
        const pushed = await steme({...b, env: {...b.env, STEME_TOKEN: write}}, ['push', d.url, '--json'])
        expect(pushed.code, pushed.stderr).toBe(0)
        const logA = await fetch(`${d.url}/v1/log`, {headers: {authorization: `Bearer ${read}`}}).then((r) => r.json())
        expect(logA.records.map((r: {subject: string}) => r.subject).sort()).toEqual(['site:a', 'site:a', 'site:b'])
        let text = ''
        const dec = new TextDecoder()
        while (!text.includes('"subject":"site:b"')) {
          const {value, done} = await reader.read()
          if (done) break
          text += dec.decode(value)
        }
        expect(text).toContain('"subject":"site:b"')
        await reader.cancel()
        const metrics = await fetch(`${d.url}/metrics`, {headers: {authorization: `Bearer ${read}`}}).then((r) => r.text())
        expect(metrics).toMatch(/steme_sync_sessions_total\{direction="pull"\} [1-9]/)
        expect(metrics).toMatch(/steme_sync_sessions_total\{direction="both"\} [1-9]/)
        expect(metrics).toMatch(/steme_records_stored_total 1/)
      })
    })
  })
})

describe('steme serve on a port fetch refuses', () => {
  it('serves it, warns that browsers and fetch will not connect, and steme pulls from it', async () => {
    await inTwoStores(async (a, b) => {
      const read = tokenFor(a, 'read')
      const port = await freeFetchBlockedPort()
      await whileServing(a, ['--port', String(port)], async (d) => {
        expect(d.url).toBe(`http://127.0.0.1:${port}`)
        const warning = () => d.log().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as {level: number; msg: string}).find((l) => l.level === 40 && /bad port/.test(l.msg))
        for (let i = 0; i < 100 && !warning(); i++) await new Promise((r) => setTimeout(r, 20))
        expect(warning()?.msg).toBe(`port ${port} is one that browsers and fetch() refuse to connect to (a "bad port" of the fetch standard): steme's commands reach it, browsers and fetch-based clients will not; to serve those, pick another with --port`)
        const pulled = await steme({...b, env: {...b.env, STEME_TOKEN: read}}, ['pull', d.url, '--retries', '0', '--json'])
        expect(pulled.code, pulled.stderr).toBe(0)
        expect(JSON.parse(pulled.stdout).local.added).toBe(2)
      })
    })
  })
})
