/**
 * SSH against a real sshd on loopback, beyond what test/cli/sync.integration.ts covers (unknown
 * and changed keys, refused auth, a missing steme): hashed known_hosts entries, and remote
 * commands that are not steme. Each failure is a clean error naming the remote with exit 1 or 2,
 * no hang, and the local store untouched.
 */
import {createHmac, randomBytes} from 'node:crypto'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {UserError} from '../../src/core/errors.js'
import {openStore} from '../../src/runtime.js'
import {runSync} from '../../src/sync/client.js'
import {openSshTransport, type SshOptions} from '../../src/sync/transports/ssh.js'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'
import {report} from '../helpers/report.js'
import {startSshd, type Sshd} from '../helpers/sshd.js'
import {allIds, makeRecords, memoryWith, receiveDeps} from '../sync/helpers.js'

let sshd: Sshd
let dir: string
const REMOTE_CMD = `${process.execPath} ${BIN}`
let faults = 0

beforeAll(async () => {
  sshd = await startSshd()
  dir = mkdtempSync(join(tmpdir(), 'steme-ssh-rel-'))
  mkdirSync(join(dir, 'remote', '.steme'), {recursive: true})
  const store = await openStore(join(dir, 'remote', '.steme', 'store.duckdb'), {create: true})
  await store.insert(await makeRecords(40, {tag: 'ssh-remote'}))
  await store.close()
})
afterAll(async () => {
  report({suite: 'ssh host keys and non-steme remotes', faults, inputs: faults, lost: 0, invalidStored: 0, crashes: 0})
  await sshd?.stop()
  rmSync(dir, {recursive: true, force: true})
})

const hashedEntry = (name: string) => {
  const salt = randomBytes(20)
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`
}

/** Pull over SSH into a local store holding a few records; returns the outcome and whether the local set changed. */
async function pull(opts: SshOptions) {
  const seed = await makeRecords(5, {tag: 'ssh-local'})
  const local = await memoryWith(seed)
  const before = await allIds(local)
  const t = openSshTransport('lab (ssh://lab/store)', {user: sshd.user, host: '127.0.0.1', port: sshd.port, path: join(dir, 'remote')}, {identities: [sshd.identity], knownHosts: sshd.knownHosts, remoteCmd: REMOTE_CMD, env: {HOME: sshd.dir}, requestTimeoutMs: 20_000, ...opts})
  try {
    const res = await runSync(receiveDeps(local), t, {mode: 'pull', threads: 0, retry: {retries: 1, baseMs: 10, maxMs: 20}})
    return {res, err: undefined, untouched: false, local}
  } catch (e) {
    return {res: undefined, err: e as UserError, untouched: JSON.stringify(await allIds(local)) === JSON.stringify(before), local}
  } finally {
    await t.close()
  }
}

describe('host keys in hashed known_hosts', () => {
  it('a hashed entry for [host]:port is accepted', async () => {
    const kh = join(dir, 'known_hosts_hashed')
    const [, type, key] = sshd.hostKeyLine.split(' ')
    writeFileSync(kh, `# hashed, as HashKnownHosts writes them\n${hashedEntry(`[127.0.0.1]:${sshd.port}`)} ${type} ${key}\n`)
    const {res, err} = await pull({knownHosts: kh, requestTimeoutMs: 60_000})
    expect(err).toBeUndefined()
    expect(res!.local.added).toBe(40)
  })

  it('a hashed entry with another key is a changed key: refused, with the fix', async () => {
    faults++
    const kh = join(dir, 'known_hosts_changed')
    writeFileSync(kh, `${hashedEntry(`[127.0.0.1]:${sshd.port}`)} ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), randomBytes(32)]).toString('base64')}\n`)
    const {err, untouched} = await pull({knownHosts: kh})
    expect(err).toBeInstanceOf(UserError)
    expect(err!.message).toMatch(/^remote lab \(ssh:\/\/lab\/store\): the host key of .* does NOT match/)
    expect(err!.hint).toMatch(/ssh-keygen -f .* -R/)
    expect(untouched).toBe(true)
    expect(readFileSync(kh, 'utf8')).not.toContain(sshd.hostKeyLine.split(' ')[2])
  })
})

describe('a remote command that is not steme', () => {
  // Each is run as `<cmd> sync-serve --stdio --store <path>`; `#` turns the rest into a comment.
  const cases: [string, string, RegExp, number?][] = [
    ['cat', 'cat #', /did not answer as steme sync-serve \(unexpected output/],
    ['echo hello', 'echo hello', /did not answer as steme sync-serve \(unexpected output: "hello/],
    ['false', 'false #', /`false #` on .* exited with code 1 without answering as steme sync-serve/],
    ['true', 'true #', /exited with code 0 without answering as steme sync-serve/],
    ['garbage', 'head -c 64 /dev/urandom #', /did not answer as steme sync-serve|failed:/],
    ['an error on stderr', 'ls /no/such/dir #', /failed: .*No such file/],
    // Never said steme-sync/1 (a steme says it at once): not retried, which would start another to wait for.
    ['silence (a hang)', 'sleep 30 #', /`sleep 30 #` on .* started but sent nothing in 2 s: it is not steme sync-serve, or it hangs before serving$/, 2000],
  ]
  for (const [name, cmd, message, timeout] of cases) {
    it(`${name}: a clean error naming the remote, exit 1 or 2, the local store untouched`, async () => {
      faults++
      const {err, untouched} = await pull({remoteCmd: cmd, ...(timeout ? {requestTimeoutMs: timeout} : {})})
      expect(err, `${cmd} did not fail`).toBeInstanceOf(UserError)
      expect(err!.message).toMatch(/^remote lab \(ssh:\/\/lab\/store\): /)
      expect(err!.message).toMatch(message)
      expect([1, 2]).toContain(err!.exit)
      expect(err!.hint).toBeTruthy()
      expect(untouched).toBe(true)
    }, 30_000)
  }
})

describe('a slow link', () => {
  it('an answer that takes longer than the request timeout to arrive, but keeps arriving, is not taken for a remote that stopped', async () => {
    const store = join(dir, 'big')
    mkdirSync(join(store, '.steme'), {recursive: true})
    const s = await openStore(join(store, '.steme', 'store.duckdb'), {create: true})
    await s.insert(await makeRecords(1700, {tag: 'ssh-slow'}))
    await s.close()
    // The remote steme's output through a link of 8 KB every 50 ms: its ~0.75 MB answer of
    // records takes at least 4.5 s (the link's pauses alone), half again the 3 s the client waits
    // for a byte, each piece far less. Sized so the answer surely outlasts the timeout: more
    // records only make the test slower, not the check stronger. The 3 s also covers the remote
    // steme's start before its first byte, on a loaded machine.
    const trickle = `const i=process.stdin;i.on('data',async(c)=>{i.pause();for(let a=0;a<c.length;a+=8192){process.stdout.write(c.subarray(a,a+8192));await new Promise((r)=>setTimeout(r,50))}i.resume()})`
    const cmd = join(dir, 'slow-link.sh')
    writeFileSync(cmd, `#!/bin/sh\n'${process.execPath}' '${BIN}' "$@" | '${process.execPath}' -e "${trickle}"\n`)
    chmodSync(cmd, 0o755)
    const local = await memoryWith([])
    const t = openSshTransport('lab', {user: sshd.user, host: '127.0.0.1', port: sshd.port, path: store}, {identities: [sshd.identity], knownHosts: sshd.knownHosts, remoteCmd: cmd, env: {HOME: sshd.dir}, requestTimeoutMs: 3000})
    const retries: string[] = []
    try {
      const res = await runSync(receiveDeps(local), t, {mode: 'pull', threads: 0, retry: {retries: 1, baseMs: 10, maxMs: 20, onRetry: (_n, _ms, e) => retries.push(e.message)}})
      expect(retries).toEqual([])
      expect(res.local.added).toBe(1700)
    } finally {
      await t.close()
    }
  }, 60_000)
})

describe('an early connection attempt', () => {
  it('that fails before any request hands its error to the first request, and the next request connects again', async () => {
    // A port that accepts and at once drops every connection, counting them.
    const {createServer} = await import('node:net')
    let attempts = 0
    const drop = createServer((sock) => {
      attempts++
      sock.destroy()
    })
    await new Promise<void>((r) => drop.listen(0, '127.0.0.1', r))
    const port = (drop.address() as {port: number}).port
    const t = openSshTransport('lab (ssh://lab/store)', {user: sshd.user, host: '127.0.0.1', port, path: '/x'}, {identities: [sshd.identity], knownHosts: sshd.knownHosts, remoteCmd: REMOTE_CMD, env: {HOME: sshd.dir}})
    try {
      t.connect!()
      // The attempt fails with no request waiting for it.
      await new Promise((r) => setTimeout(r, 300))
      expect(attempts).toBe(1)
      const first = await t.request(new Uint8Array([1])).catch((e: Error) => e)
      expect(first).toBeInstanceOf(Error)
      expect((first as Error).message).toMatch(/^remote lab \(ssh:\/\/lab\/store\): /)
      // That error was the early attempt's: no second connection behind the caller's back.
      expect(attempts).toBe(1)
      const second = await t.request(new Uint8Array([1])).catch((e: Error) => e)
      expect(second).toBeInstanceOf(Error)
      expect(attempts).toBe(2)
    } finally {
      await t.close()
      drop.close()
    }
  })
})

describe('from the CLI', () => {
  let sb: Sandbox
  beforeAll(() => {
    sb = sandbox('steme-ssh-cli-')
    expect(sb.run(['init']).code).toBe(0)
    mkdirSync(join(sb.dir, '.ssh'), {mode: 0o700})
    writeFileSync(join(sb.dir, '.ssh', 'id_ed25519'), readFileSync(sshd.identity), {mode: 0o600})
    writeFileSync(join(sb.dir, '.ssh', 'known_hosts'), sshd.hostKeyLine + '\n')
  })
  afterAll(() => sb?.cleanup())

  it('a remote that is not steme: exit 1, one clean error line and a hint, no internal error, no retries', () => {
    faults++
    const url = `ssh://${sshd.user}@127.0.0.1:${sshd.port}${join(dir, 'remote')}`
    const r = sb.run(['pull', url, '--remote-cmd', 'false #'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: remote ssh:\/\/.*: `false #` on .* exited with code 1 without answering as steme sync-serve\nhint: /)
    expect(r.stderr).not.toMatch(/internal error|retry/)
    expect(sb.json<{records: number}>(['stats']).records).toBe(0)
  })
})
