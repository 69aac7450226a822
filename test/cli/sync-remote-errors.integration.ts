/** What pull, push and sync say about remotes that cannot be used: no secrets echoed, no retries of what will fail again, hints for the remote. */
import {createServer, type RequestListener, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {execFileSync, spawn} from 'node:child_process'
import {createServer as createHttpsServer} from 'node:https'
import {appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'
import {makeEnv, startDaemon, steme} from '../serve/daemon.js'
import {CAPS} from '../../src/sync/server.js'
import {SYNC_MEDIA_TYPE} from '../../src/sync/transports/http.js'
import {PROTOCOL, T, VERSION, encode} from '../../src/sync/wire.js'

let sb: Sandbox
const a = () => join(sb.dir, 'a')

beforeAll(() => {
  sb = sandbox('steme-sync-remote-errors-')
  mkdirSync(a())
  expect(sb.run(['init'], {cwd: a()}).code).toBe(0)
})
afterAll(() => sb?.cleanup())

/** An HTTP server answering every request with `handler`, for the length of `fn`. */
async function withServer<T>(handler: RequestListener, fn: (url: string) => Promise<T>): Promise<T> {
  const srv: Server = createServer(handler)
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  try {
    return await fn(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`)
  } finally {
    srv.closeAllConnections()
    await new Promise((r) => srv.close(r))
  }
}

describe('credentials in a remote URL', () => {
  const secret = 'stm_S3CRETtoken'

  it('pull refuses them up front (exit 2, no retries), and never prints the token', () => {
    const r = sb.run(['pull', `http://user:${secret}@127.0.0.1:9`], {cwd: a()})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/carries credentials/)
    expect(r.stderr).toMatch(/STEME_TOKEN/)
    expect(r.stderr).not.toMatch(/retry/)
    expect(r.stdout + r.stderr).not.toContain(secret)
  })

  it('remote add refuses them, and remote list hides any a config holds', () => {
    const add = sb.run(['remote', 'add', 'srv', `http://${secret}@127.0.0.1:9`, '--json'], {cwd: a()})
    expect(add.code).toBe(2)
    expect(add.stdout + add.stderr).not.toContain(secret)
    appendFileSync(join(a(), '.steme', 'config.toml'), `\n[remotes]\nhand = "http://user:${secret}@127.0.0.1:9"\n`)
    const list = sb.run(['remote', 'list'], {cwd: a()})
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/hand +http +http:\/\/\*\*\*@127\.0\.0\.1:9/)
    const json = sb.run(['remote', 'list', '--json'], {cwd: a()})
    expect(json.stdout).not.toContain(secret)
    const pull = sb.run(['pull', 'hand'], {cwd: a()})
    expect(pull.code).toBe(2)
    expect(pull.stdout + pull.stderr).not.toContain(secret)
    expect(sb.run(['remote', 'remove', 'hand'], {cwd: a()}).code).toBe(0)
  })

  it('an ssh:// password is refused too: steme logs in with keys only, and config.toml is shared in git', () => {
    const password = 'hunter2-S3CRET'
    const config = join(a(), '.steme', 'config.toml')
    const before = readFileSync(config, 'utf8')
    const add = sb.run(['remote', 'add', 'box', `ssh://me:${password}@127.0.0.1:9/srv/store`], {cwd: a()})
    expect(add.code).toBe(2)
    expect(add.stderr).toMatch(/carries a password/)
    expect(add.stderr).toMatch(/ssh-agent|--identity/)
    expect(add.stdout + add.stderr).not.toContain(password)
    expect(readFileSync(config, 'utf8')).toBe(before)
    const pull = sb.run(['pull', `ssh://me:${password}@127.0.0.1:9/srv/store`, '--json'], {cwd: a()})
    expect(pull.code).toBe(2)
    expect(JSON.parse(pull.stdout).error.message).toMatch(/carries a password/)
    expect(pull.stdout + pull.stderr).not.toContain(password)
    expect(pull.stderr).not.toMatch(/retry/)
    // A user name alone is how ssh:// names the login: still taken.
    expect(sb.run(['remote', 'add', 'box', 'ssh://me@127.0.0.1:9/srv/store'], {cwd: a()}).code).toBe(0)
    expect(sb.run(['remote', 'remove', 'box'], {cwd: a()}).code).toBe(0)
  })
})

describe('a PostgreSQL URL given as a remote', () => {
  it('is refused with the way to sync such a store, its password never printed', () => {
    const url = 'postgres://steme:S3CRETpw@127.0.0.1:9/team'
    for (const args of [['pull', url], ['remote', 'add', 'pg', url]]) {
      const r = sb.run(args, {cwd: a()})
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('error: the PostgreSQL store postgres://steme@127.0.0.1:9/team is no sync remote')
      expect(r.stderr).toMatch(/hint: open the PostgreSQL store on this side, with --store <postgres URL>/)
      expect(r.stdout + r.stderr).not.toContain('S3CRET')
    }
  })
})

describe('an HTTP server that is not a steme sync endpoint', () => {
  const answering = (status: number, type: string, body: string, headers: Record<string, string> = {}) =>
    ((req, res) => {
      req.resume()
      req.on('end', () => res.writeHead(status, {'content-type': type, ...headers}).end(body))
    }) as RequestListener

  it('a 501 (python -m http.server) fails at once, named as such', async () => {
    let hits = 0
    await withServer(
      (req, res) => {
        hits++
        answering(501, 'text/html', '<html>Unsupported method</html>')(req, res)
      },
      async (url) => {
        const r = await sb.runAsync(['pull', url], {cwd: a()})
        expect(r.code).toBe(1)
        expect(r.stderr).toContain(`${url} is not a steme sync endpoint (POST /v1/sync answered 501 text/html)`)
        expect(r.stderr).toMatch(/hint: .*steme serve.*sync-serve --http/)
        expect(r.stderr).not.toMatch(/retry|check the network/)
      },
    )
    expect(hits).toBe(1)
  })

  it('an HTML page answering 200 is not taken for a broken steme', async () => {
    await withServer(answering(200, 'text/html; charset=utf-8', '<html>login</html>'), async (url) => {
      const r = await sb.runAsync(['pull', url], {cwd: a()})
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/is not a steme sync endpoint \(POST \/v1\/sync answered 200 text\/html\)/)
      expect(r.stderr).not.toMatch(/upgrade|malformed/)
    })
  })

  it('a redirect is reported with its target, not followed, not retried', async () => {
    await withServer(answering(307, 'text/plain', '', {location: 'http://localhost:8/'}), async (url) => {
      const r = await sb.runAsync(['pull', url], {cwd: a()})
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/redirected to http:\/\/localhost:8\/ \(307\)/)
      expect(r.stderr).not.toMatch(/retry|TypeError/)
    })
  })

  it('a refused token points at STEME_TOKEN, and so does --help', async () => {
    await withServer(answering(401, 'application/json', JSON.stringify({error: {code: 'unauthorized', message: 'a bearer token is required'}})), async (url) => {
      const r = await sb.runAsync(['push', url], {cwd: a()})
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/refused the request \(401\): a bearer token is required/)
      expect(r.stderr).toMatch(/hint: set STEME_TOKEN .*steme serve token create --role read\|write/)
    })
    for (const cmd of ['pull', 'push', 'sync']) expect(sb.run([cmd, '--help']).stdout).toMatch(/STEME_TOKEN/)
  })
})

describe('a URL whose scheme the server does not speak', () => {
  it('https:// to a plain HTTP server: says to use http://, at once, not retried', async () => {
    const other = join(sb.dir, 'plain')
    mkdirSync(other)
    expect(sb.run(['init'], {cwd: other}).code).toBe(0)
    const srv = spawn(process.execPath, [BIN, 'sync-serve', '--http', '0', '--store', other], {env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
    try {
      const url = await new Promise<string>((res, rej) => {
        srv.stdout!.once('data', (d) => res(String(d).trim()))
        srv.once('exit', (code) => rej(new Error(`exited ${code}`)))
      })
      const tls = url.replace(/^http:/, 'https:')
      const r = await sb.runAsync(['pull', tls, '--json'], {cwd: a()})
      expect(r.code).toBe(1)
      const err = JSON.parse(r.stdout).error
      expect(err.message).toMatch(/does not speak TLS/)
      expect(err.hint).toContain(url)
      expect(r.stderr).not.toMatch(/retry/)
    } finally {
      srv.kill('SIGTERM')
      await new Promise((res) => (srv.exitCode !== null ? res(undefined) : srv.once('exit', res)))
    }
  })

  it('http:// to an HTTPS server: says to use https://, at once, not retried', async () => {
    const dir = join(sb.dir, 'tls')
    mkdirSync(dir)
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], {stdio: 'ignore'})
    const srv = createHttpsServer({cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem'))}, (_req, res) => res.writeHead(500).end())
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    try {
      const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`
      const r = await sb.runAsync(['pull', url], {cwd: a()})
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/speaks TLS/)
      expect(r.stderr).toContain(`hint: use ${url.replace(/^http:/, 'https:')}`)
      expect(r.stderr).not.toMatch(/retry/)
    } finally {
      srv.closeAllConnections()
      await new Promise((r) => srv.close(r))
    }
  })
})

describe('requests that cannot be made', () => {
  it('a token that cannot go in a header is not echoed, nor retried', () => {
    const r = sb.run(['pull', 'http://127.0.0.1:7'], {cwd: a(), env: {STEME_TOKEN: 'stm_S3CRET\nmore'}})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/the request could not be made: Invalid character in header content/)
    expect(r.stderr).not.toMatch(/S3CRET|retry/)
  })
})

describe('a remote given on the command line that no remote could be named', () => {
  it('an scp-style address gets the ssh:// URL to write, not "no remote named"', () => {
    for (const [given, meant] of [['me@host.example:team', 'ssh://me@host.example/~/team'], ['host.example:/srv/x', 'ssh://host.example/srv/x']]) {
      for (const cmd of ['pull', 'push', 'sync']) {
        const r = sb.run([cmd, given], {cwd: a()})
        expect(r.code).toBe(2)
        expect(r.stderr).toContain('looks like an scp-style address')
        expect(r.stderr).toContain(`write it as ${meant}`)
      }
    }
  })

  it('an empty remote is said to be empty', () => {
    const r = sb.run(['pull', ''], {cwd: a()})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('the remote is empty')
  })
})

describe('no remote named, and several configured', () => {
  it('the hint repeats the command that was run, with a remote to name', () => {
    const c = join(sb.dir, 'c')
    mkdirSync(c)
    expect(sb.run(['init'], {cwd: c}).code).toBe(0)
    for (const [name, dir] of [['team', 'team-store'], ['backup', 'backup-store']]) {
      expect(sb.run(['init', '--dir', join(sb.dir, dir)]).code).toBe(0)
      expect(sb.run(['remote', 'add', name, join(sb.dir, dir)], {cwd: c}).code).toBe(0)
    }
    for (const cmd of ['pull', 'push', 'sync']) {
      const r = sb.run([cmd], {cwd: c})
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('which remote? this store has team, backup')
      expect(r.stderr).toContain(`hint: name one, e.g. \`steme ${cmd} team\``)
    }
  })

  it('--identity takes one key file, so the remote after it is the one pulled from', () => {
    const c = join(sb.dir, 'c')
    const backup = join(sb.dir, 'backup-store')
    const r = sb.run(['pull', '--identity', join(sb.dir, 'no-such-key'), backup], {cwd: c})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`pulled from ${backup}`)
  })
})

describe('a path remote that is not a usable store', () => {
  const local = /--store|STEME_STORE|--remote/

  it('a directory or a file that is not a store: hints about the remote path', () => {
    const empty = join(sb.dir, 'empty')
    mkdirSync(empty, {recursive: true})
    writeFileSync(join(sb.dir, 'notdb.txt'), 'x\n')
    for (const target of [empty, join(sb.dir, 'notdb.txt')]) {
      const r = sb.run(['pull', target], {cwd: a()})
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/hint: check the remote path/)
      expect(r.stderr).not.toMatch(local)
    }
  })

  it('a store held by another process is waited for (on a terminal, a note says so), and the pull goes on once it is let go of', async () => {
    const b = join(sb.dir, 'b')
    mkdirSync(b)
    expect(sb.run(['init'], {cwd: b}).code).toBe(0)
    const srv = spawn(process.execPath, [BIN, 'sync-serve', '--http', '0', '--store', b], {env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
    let pull: ReturnType<typeof spawn> | undefined
    try {
      await new Promise<void>((res, rej) => {
        srv.stdout!.once('data', () => res())
        srv.once('exit', (code) => rej(new Error(`exited ${code}`)))
      })
      // script(1) gives the pull a terminal; its output is the terminal's.
      pull = spawn('script', ['-qec', `"${process.execPath}" "${BIN}" pull "${b}"`, '/dev/null'], {cwd: a(), env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
      let out = ''
      pull.stdout!.on('data', (d) => (out += d))
      const exited = new Promise<number | null>((r) => pull!.on('close', r))
      for (let i = 0; i < 600 && !/waiting for the store/.test(out) && pull.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50))
      expect(out).toMatch(/^waiting for the store of remote .*\/b: another process holds it \(for up to 30 s\)/)
      srv.kill('SIGTERM')
      expect(await exited, out).toBe(0)
      expect(out).toMatch(/\r?\npulled from .*\/b\r?\n  received 0 records/)
      expect(out).not.toMatch(local)
    } finally {
      srv.kill('SIGTERM')
      pull?.kill('SIGKILL')
      await new Promise((res) => (srv.exitCode !== null ? res(undefined) : srv.once('exit', res)))
    }
  })

  it('a store held by `steme serve`: refused at once, and the hint says to sync with it, not that steme waited', async () => {
    const d = join(sb.dir, 'd')
    mkdirSync(d)
    expect(sb.run(['init'], {cwd: d}).code).toBe(0)
    const srv = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--store', d], {env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
    try {
      const state = join(d, '.steme', 'state', 'serve.json')
      while (!existsSync(state) && srv.exitCode === null) await new Promise((r) => setTimeout(r, 50))
      const r = await sb.runAsync(['pull', d], {cwd: a()})
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/^error: remote .*: the store .* is held by `steme serve` \(pid \d+, (http:\/\/127\.0\.0\.1:\d+)\)\nhint: /)
      const hint = r.stderr.split('\nhint: ')[1]
      expect(hint).toMatch(/^`steme serve` holds the remote store until it is stopped: sync with its URL instead/)
      expect(hint).not.toMatch(/longer than steme waits|busy_timeout_seconds/)
      expect(r.stderr).not.toMatch(local)
    } finally {
      srv.kill('SIGTERM')
      await new Promise((res) => (srv.exitCode !== null ? res(undefined) : srv.once('exit', res)))
    }
  })
})

describe('pull, push or sync in a store `steme serve` holds', () => {
  it('gives the mirror command to run from the other store against the daemon, and it works', async () => {
    const e = makeEnv('steme-served-sync-')
    const other = join(e.dir, 'other')
    try {
      expect((await steme(e, ['init', '--dir', e.dir])).code).toBe(0)
      expect((await steme(e, ['init', '--dir', other])).code).toBe(0)
      expect((await steme(e, ['assert', 'drug:x', 'rate', '1', '--store', other])).code).toBe(0)
      const d = await startDaemon(e)
      try {
        const r = await steme(e, ['pull', other])
        expect(r.code).toBe(1)
        expect(r.stderr).toContain('is held by `steme serve`')
        expect(r.stderr).toContain(`hint: run it from the other store against the daemon instead: \`steme push ${d.url} --store ${other}\`, with a token from \`steme serve token create --role write\` here in STEME_TOKEN`)
        const back = await steme(e, ['push', other, '--json'])
        expect(JSON.parse(back.stdout).error.hint).toContain(`\`steme pull ${d.url} --store ${other}\``)
        // The hint's command, as given, does what the pull was for.
        const token = (await steme(e, ['serve', 'token', 'create', '--role', 'write', '--json'])).stdout
        const mirror = await steme({dir: e.dir, env: {...e.env, STEME_TOKEN: JSON.parse(token).token}}, ['push', d.url, '--store', other, '--json'])
        expect(mirror.code, mirror.stderr).toBe(0)
        expect(JSON.parse(mirror.stdout).remoteResult.added).toBe(1)
      } finally {
        await d.stop()
      }
    } finally {
      rmSync(e.dir, {recursive: true, force: true})
    }
  })
})

describe('Ctrl-C during a pull', () => {
  it('says what was received and that a rerun goes on, then dies of the signal', async () => {
    let arrived!: () => void
    const request = new Promise<void>((r) => (arrived = r))
    // Takes the first request and never answers: the pull is mid-way when the signal comes.
    await withServer(
      () => arrived(),
      async (url) => {
        const p = spawn(process.execPath, [BIN, 'pull', url], {cwd: a(), env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
        let stderr = ''
        p.stderr.on('data', (d) => (stderr += d))
        const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((r) => p.on('exit', (code, signal) => r({code, signal})))
        await request
        p.kill('SIGINT')
        expect(await exited).toEqual({code: null, signal: 'SIGINT'})
        expect(stderr).toMatch(/^interrupted \(SIGINT\) after 0 records received and 0 sent: what was stored is kept; run the same command again to go on$/m)
      },
    )
    expect(sb.run(['fsck'], {cwd: a()}).code).toBe(0)
  })

  it('a push interrupted while its records are on their way counts them as sent', async () => {
    const dir = join(sb.dir, 'pusher')
    mkdirSync(dir)
    expect(sb.run(['init'], {cwd: dir}).code).toBe(0)
    for (const v of ['1', '2', '3']) expect(sb.run(['assert', 'drug:x', 'rate', v], {cwd: dir}).code).toBe(0)
    const ids = sb.json<{records: {id: string}[]}>(['log'], {cwd: dir}).records.map((r) => r.id)
    let requests = 0
    let second!: () => void
    const arrived = new Promise<void>((r) => (second = r))
    // Asks for the three records, then takes the request carrying them and never answers.
    await withServer(
      (req, res) => {
        req.resume()
        req.on('end', () => {
          if (++requests === 1) res.writeHead(200, {'content-type': SYNC_MEDIA_TYPE}).end(encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: CAPS, records: 0}}, {t: T.Need, ids}]))
          else second()
        })
      },
      async (url) => {
        const p = spawn(process.execPath, [BIN, 'push', url], {cwd: dir, env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
        let stderr = ''
        p.stderr.on('data', (d) => (stderr += d))
        const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((r) => p.on('exit', (code, signal) => r({code, signal})))
        await arrived
        p.kill('SIGINT')
        expect(await exited).toEqual({code: null, signal: 'SIGINT'})
        expect(stderr).toMatch(/^interrupted \(SIGINT\) after 0 records received and 3 sent: what was stored is kept; run the same command again to go on$/m)
      },
    )
  })
})
