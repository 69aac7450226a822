/**
 * An SSH connection lost mid-pull, against a real sshd: the client reconnects and goes on (the
 * same bounded retries as over HTTP), the stores end in step, and the output says it retried. A
 * reconnect that meets a real failure (a refused login, a changed host key, a remote store gone)
 * is not retried.
 */
import {spawn} from 'node:child_process'
import {chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {UserError} from '../../src/core/errors.js'
import type {Sealed} from '../../src/core/seal.js'
import {TransportError, type Transport} from '../../src/core/transport.js'
import {openStore} from '../../src/runtime.js'
import {runSync} from '../../src/sync/client.js'
import {CAPS} from '../../src/sync/server.js'
import {PROTOCOL, T, VERSION, decode, encode} from '../../src/sync/wire.js'
import {openSshTransport, type SshOptions} from '../../src/sync/transports/ssh.js'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'
import {startSshd, type Sshd} from '../helpers/sshd.js'
import {allIds, makeRecords, memoryWith, receiveDeps} from './helpers.js'

const N = 30_000
let dir: string
let seed: Sealed[]
let seedIds: string[]

/** A store directory on the "remote" holding `records`. */
async function remoteStore(name: string, records: readonly Sealed[]): Promise<string> {
  const path = join(dir, name)
  mkdirSync(join(path, '.steme'), {recursive: true})
  const store = await openStore(join(path, '.steme', 'store.duckdb'), {create: true})
  await store.insert(records)
  await store.close()
  return path
}

/**
 * A remote command that writes the pid of each remote steme it starts to `<name>.pids`, then is
 * that steme: what the test kills to drop a session.
 */
function pidWrapper(name: string, extra = ''): {cmd: string; pids: () => number[]} {
  const file = join(dir, `${name}.pids`)
  const cmd = join(dir, `${name}.sh`)
  writeFileSync(cmd, `#!/bin/sh\necho $$ >> '${file}'\nexec '${process.execPath}' '${BIN}' "$@"${extra}\n`)
  chmodSync(cmd, 0o755)
  return {cmd, pids: () => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map(Number) : [])}
}

/** Bytes a process has written (Linux), 0 once it is gone. */
function written(pid: number): number {
  try {
    return Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1])
  } catch {
    return 0
  }
}

/** The parent of a process: for a remote steme, the sshd session process that relays its channel. */
const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1])

/** A process's state letter (R, S, T, Z, ...), or undefined once it is gone. */
const stateOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[0]
  } catch {
    return undefined
  }
}

/**
 * The transport, with a network that "goes away" as the first request after `armed` is set leaves:
 * the sshd session relaying the remote steme is stopped (SIGSTOP), so it neither answers nor closes.
 * `frozen` is that session's pid, for the test to kill at the end.
 */
function freezing(ssh: Transport, remote: {pids: () => number[]}): {t: Transport; armed: boolean; frozen?: number} {
  const net: {t: Transport; armed: boolean; frozen?: number} = {
    armed: false,
    t: {
      ...ssh,
      request: (m: Uint8Array) => {
        if (net.armed && !net.frozen) {
          net.frozen = parentOf(remote.pids()[0])
          process.kill(net.frozen, 'SIGSTOP')
        }
        return ssh.request(m)
      },
    },
  }
  return net
}

/** Whether another process can open the store for writing now. */
async function writable(path: string): Promise<boolean> {
  try {
    await (await openStore(join(path, '.steme', 'store.duckdb'))).close()
    return true
  } catch (e) {
    if (/in use by another steme process/.test((e as Error).message)) return false
    throw e
  }
}

const until = async (cond: () => boolean, what: string, ms = 60_000) => {
  for (const end = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'steme-ssh-reconnect-'))
  seed = await makeRecords(N, {tag: 'ssh-reconnect'})
  seedIds = seed.map((s) => s.record.id).sort()
  await remoteStore('big', seed)
}, 120_000)
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('an SSH connection lost mid-pull', () => {
  let sshd: Sshd
  let sb: Sandbox
  beforeAll(async () => {
    sshd = await startSshd()
    sb = sandbox('steme-ssh-reconnect-cli-')
    mkdirSync(join(sb.dir, '.ssh'), {mode: 0o700})
    copyFileSync(sshd.identity, join(sb.dir, '.ssh', 'id_ed25519'))
    writeFileSync(join(sb.dir, '.ssh', 'known_hosts'), sshd.hostKeyLine + '\n')
  })
  afterAll(async () => {
    await sshd?.stop()
    sb?.cleanup()
  })

  it('the remote steme killed while sshd restarts: the pull retries until sshd is back, completes in step, and says it retried', async () => {
    const local = join(sb.dir, 'a')
    mkdirSync(local)
    expect(sb.run(['init'], {cwd: local}).code).toBe(0)
    const remote = pidWrapper('cli')
    const url = `ssh://${sshd.user}@127.0.0.1:${sshd.port}${join(dir, 'big')}`
    const p = spawn(process.execPath, [BIN, 'pull', url, '--remote-cmd', remote.cmd, '--retries', '10', '--json'], {cwd: local, env: sb.env})
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((r) => p.on('close', r))
    // Mid-transfer (2 MB of the ~12 MB of records written): sshd stops listening, then the
    // session's steme dies. The reconnects are refused until sshd is back.
    await until(() => remote.pids().length > 0 && written(remote.pids()[0]) > 2_000_000, 'the remote steme to send 2 MB')
    await sshd.halt()
    process.kill(remote.pids()[0], 'SIGKILL')
    await until(() => /ECONNREFUSED/.test(stderr) || p.exitCode !== null, 'a refused reconnect')
    await sshd.resume()
    // Bounded below the test's own timeout, so a pull that never ends fails with what it said.
    await until(() => p.exitCode !== null || p.signalCode !== null, 'the pull to end', 90_000).catch((e) => {
      p.kill('SIGKILL')
      throw new Error(`${(e as Error).message}; it said: ${stderr || '(nothing)'}; remote stemes started: ${remote.pids().length}`)
    })
    expect(await exited, stderr).toBe(0)
    expect(remote.pids().length).toBeGreaterThan(1)
    // Each retry is noted: the channel that closed (unless the kill fell between requests) and the refused reconnects.
    expect(stderr).toMatch(/^retry \d+ in \d+ ms: remote ssh:\/\/.*: cannot reach .* again \(ECONNREFUSED\)$/m)
    for (const line of stderr.trim().split('\n')) expect(line).toMatch(/^retry \d+ in \d+ ms: remote ssh:\/\/.*: (the channel to .* closed \(the remote steme was killed by SIGKILL\)|cannot reach .* again \(ECONNREFUSED\))$/)
    const s = JSON.parse(stdout)
    expect(s.local).toEqual({added: N, present: expect.any(Number), rejected: 0})
    expect(s.localRoot).toEqual(s.remoteRoot)
    expect(s.localRoot.count).toBe(N)
    expect(sb.json<{records: number}>(['stats'], {cwd: local}).records).toBe(N)
    expect(sb.run(['fsck'], {cwd: local}).code).toBe(0)
  }, 120_000)

  it('two pushes to one SSH remote at once: the second remote steme waits for the store, and both succeed', async () => {
    const team = await remoteStore('team', [])
    const a = await remoteStore('push-a', seed.slice(0, 8000))
    const b = await remoteStore('push-b', seed.slice(8000, 16_000))
    const url = `ssh://${sshd.user}@127.0.0.1:${sshd.port}${team}`
    const remote = pidWrapper('team')
    const runs = await Promise.all([a, b].map((local) => sb.runAsync(['push', url, '--store', local, '--remote-cmd', remote.cmd, '--json'])))
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout).remoteResult).toEqual({added: 8000, present: 0, rejected: 0})
    }
    // A client is done once its answer came: its remote steme closes the store as its channel
    // closes, a moment later, and holds it until then.
    expect(remote.pids()).toHaveLength(2)
    for (const pid of remote.pids()) await until(() => [undefined, 'Z'].includes(stateOf(pid)), `remote steme ${pid} to end`)
    const rt = await openStore(join(team, '.steme', 'store.duckdb'))
    try {
      expect((await rt.stats()).records).toBe(16_000)
    } finally {
      await rt.close()
    }
    expect(remote.pids()).toHaveLength(2)
  }, 120_000)

  it("a silent connection (its sshd session frozen) is given up by keepalive; the lost session's steme lets go of the store once its client is silent, and the reconnect's steme waits for it", async () => {
    const remote = pidWrapper('frozen', ' --release-after 1')
    const ssh = openSshTransport('lab', {user: sshd.user, host: '127.0.0.1', port: sshd.port, path: join(dir, 'big')}, {identities: [sshd.identity], knownHosts: sshd.knownHosts, remoteCmd: remote.cmd, env: {HOME: sshd.dir}, keepaliveMs: 200})
    const local = new MemoryStore()
    const retries: string[] = []
    // Once records have arrived, the network "goes away" as the next request leaves: the session
    // neither answers nor closes, and nothing here ends it.
    const net = freezing(ssh, remote)
    try {
      const s = await runSync(receiveDeps(local), net.t, {
        mode: 'pull',
        threads: 0,
        retry: {retries: 2, baseMs: 200, maxMs: 1000, onRetry: (_n, _ms, e) => retries.push(e.message)},
        onProgress: (p) => {
          if (p.received > 0) net.armed = true
        },
      })
      expect(net.frozen).toBeDefined()
      // One retry, for the lost connection; the store was never found busy.
      expect(retries).toHaveLength(1)
      expect(retries[0]).toMatch(/^remote lab: the SSH connection to .* was lost: 3 keepalives went unanswered in 0\.8 s \(the network or the host went away\)$/)
      expect(s.local.added).toBe(N)
      expect(await allIds(local)).toEqual(seedIds)
      // The lost session's steme is still there (its idle timeout is 10 minutes), without the store.
      expect(stateOf(remote.pids()[0])).toMatch(/^[RS]$/)
      expect(remote.pids()).toHaveLength(2)
    } finally {
      if (net.frozen) process.kill(net.frozen, 'SIGKILL')
      await ssh.close()
    }
  }, 120_000)

  /**
   * A pull whose connection drops after the first answer, and whose second remote steme started
   * prints `error` (its stderr) and exits 1; the third is steme again.
   */
  async function busyOnReconnect(name: string, error: string): Promise<{result: Promise<Awaited<ReturnType<typeof runSync>>>; retries: string[]; local: MemoryStore; close: () => Promise<void>}> {
    const starts = join(dir, `${name}.starts`)
    const cmd = join(dir, `${name}.sh`)
    writeFileSync(join(dir, `${name}.err`), `${error}\n`)
    writeFileSync(cmd, `#!/bin/sh\necho x >> '${starts}'\nif [ "$(wc -l < '${starts}')" -eq 2 ]; then cat '${join(dir, `${name}.err`)}' >&2; exit 1; fi\nexec '${process.execPath}' '${BIN}' "$@"\n`)
    chmodSync(cmd, 0o755)
    const ssh = openSshTransport('lab', {user: sshd.user, host: '127.0.0.1', port: sshd.port, path: join(dir, 'big')}, {identities: [sshd.identity], knownHosts: sshd.knownHosts, remoteCmd: cmd, env: {HOME: sshd.dir}})
    // Holding all but every 8th record already: what is checked is how the reconnect is met, for
    // which the pull only needs more than one request; verifying the whole store again adds nothing.
    const local = await memoryWith(seed.filter((_, i) => i % 8 !== 0))
    const retries: string[] = []
    let dropped = false
    const t: Transport = {
      ...ssh,
      // After the first answer, the connection drops (its steme ends with it).
      request: async (m: Uint8Array) => {
        const answer = await ssh.request(m)
        if (!dropped) {
          dropped = true
          await ssh.close()
        }
        return answer
      },
    }
    const result = runSync(receiveDeps(local), t, {mode: 'pull', threads: 0, retry: {retries: 4, baseMs: 100, maxMs: 500, onRetry: (_n, _ms, e) => retries.push(e.message)}})
    return {result, retries, local, close: () => ssh.close()}
  }

  it('a reconnect that finds the store busy at once (as an older remote steme reports it, without waiting) is retried', async () => {
    // As an older steme did while the lost session's steme still held the store.
    const run = await busyOnReconnect('busy', `error: the store ${join(dir, 'big')}/.steme/store.duckdb is in use by another steme process`)
    try {
      const s = await run.result
      expect(run.retries).toEqual([expect.stringMatching(/^remote lab: the remote store is still held by another steme process \(the store .* is in use by another steme process\)$/)])
      expect(s.local.added).toBe(N / 8)
      expect(await allIds(run.local)).toEqual(seedIds)
    } finally {
      await run.close()
    }
  }, 120_000)

  it('a reconnect that finds the store held by `steme serve` is not retried: a daemon holds it until stopped', async () => {
    const run = await busyOnReconnect('daemon', `error: the store ${join(dir, 'big')}/.steme/store.duckdb is held by \`steme serve\` (pid 4242, http://127.0.0.1:7411)`)
    try {
      const err = await run.result.catch((e: unknown) => e)
      expect(run.retries).toEqual([])
      expect(err).toBeInstanceOf(UserError)
      expect(err).toMatchObject({code: 'locked', message: expect.stringMatching(/is held by `steme serve` \(pid 4242, http:\/\/127\.0\.0\.1:7411\)$/), hint: expect.stringMatching(/^`steme serve` holds the remote store until it is stopped: sync with its URL instead/)})
    } finally {
      await run.close()
    }
  }, 120_000)
})

describe("the remote steme's idle timeout", () => {
  let sshd: Sshd
  beforeAll(async () => {
    sshd = await startSshd()
  })
  afterAll(async () => {
    await sshd?.stop()
  })
  const transport = (path: string, remoteCmd: string, opts: SshOptions = {}) =>
    openSshTransport('lab', {user: sshd.user, host: '127.0.0.1', port: sshd.port, path}, {identities: [sshd.identity], knownHosts: sshd.knownHosts, remoteCmd, env: {HOME: sshd.dir}, ...opts})

  it('a lost network (the sshd session frozen): the client gives up by keepalive, the lost steme lets go of the store by itself after its idle timeout, and the pull goes on', async () => {
    const records = seed.slice(0, 4000)
    const store = await remoteStore('lost', records)
    // The local store already holds all but every 8th record, scattered through the history: the
    // first answer is fingerprints of ranges to descend into, not records, so the client's own
    // work on it before the next request (the one that is lost) is a moment's, and the remote
    // steme's idle timeout can be short. (Had the first answer been thousands of records to
    // verify, that work would have had to fit in the idle timeout on a loaded machine, or the
    // remote steme would end before the network is "lost".)
    const local = await memoryWith(records.filter((_, i) => i % 8 !== 0))
    // --release-after 0: it holds the store until it stops, as a steme older than letting go did.
    const remote = pidWrapper('lost', ' --idle-timeout 2 --release-after 0')
    const ssh = transport(store, remote.cmd, {keepaliveMs: 200})
    const retries: string[] = []
    const net = freezing(ssh, remote)
    try {
      const s = await runSync(receiveDeps(local), net.t, {
        mode: 'pull',
        threads: 0,
        // Enough to outlast the lost steme's 2 s; nothing here ends it.
        retry: {retries: 12, baseMs: 200, maxMs: 1000, onRetry: (_n, _ms, e) => retries.push(e.message)},
        // Once the remote has answered, the network "goes away" as the next request leaves.
        onProgress: (p) => {
          if (p.rounds > 0) net.armed = true
        },
      })
      expect(net.frozen).toBeDefined()
      // The reconnect's steme waited for the store (up to 30 s): no retry for a busy store.
      expect(retries).toHaveLength(1)
      expect(retries[0]).toMatch(/^remote lab: the SSH connection to .* was lost: 3 keepalives went unanswered/)
      expect(s.local.added).toBe(500)
      expect(await allIds(local)).toEqual(records.map((x) => x.record.id).sort())
      // The first steme ended on its own (its frozen parent has not reaped it yet), with its reason said.
      expect(stateOf(remote.pids()[0])).toBe('Z')
      expect(remote.pids().length).toBeGreaterThan(1)
    } finally {
      if (net.frozen) process.kill(net.frozen, 'SIGKILL')
      await ssh.close()
    }
  }, 120_000)

  it('a remote steme that stopped waiting between requests: the old connection is closed, and the next request starts a new steme', async () => {
    const store = await remoteStore('between', seed.slice(0, 100))
    const remote = pidWrapper('between', ' --idle-timeout 1')
    const ssh = transport(store, remote.cmd)
    const hello = encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: CAPS, mode: 'pull'}}])
    try {
      expect(decode(await ssh.request(hello))[0]).toMatchObject({t: T.Hello, hello: {records: 100}})
      const [first] = remote.pids()
      const session = parentOf(first)
      // It goes by itself, lets go of the store, and the client then ends that SSH connection
      // (its sshd session process exits) instead of keeping it open for nothing.
      await until(() => stateOf(first) === undefined, 'the remote steme to stop after its idle timeout', 30_000)
      expect(await writable(store)).toBe(true)
      await until(() => stateOf(session) === undefined, "the client to close the idle steme's SSH connection", 30_000)
      expect(decode(await ssh.request(hello))[0]).toMatchObject({t: T.Hello, hello: {records: 100}})
      expect(remote.pids()).toHaveLength(2)
    } finally {
      await ssh.close()
    }
  }, 60_000)

  it('a request that left as the remote steme stopped waiting is sent again, to a new one', async () => {
    const store = await remoteStore('race', seed.slice(0, 100))
    // The first remote steme reads the request's first bytes, then says what an idle timeout says and exits 1.
    const flag = join(dir, 'race.flag')
    const cmd = join(dir, 'race.sh')
    writeFileSync(
      cmd,
      `#!/bin/sh\nif [ ! -e '${flag}' ]; then touch '${flag}'; printf 'steme-sync/1\\n'; head -c 4 >/dev/null; echo 'error: sync-serve: no request from the client for 600 s (--idle-timeout): the client is gone' >&2; exit 1; fi\nexec '${process.execPath}' '${BIN}' "$@"\n`,
    )
    chmodSync(cmd, 0o755)
    const ssh = transport(store, cmd)
    const retries: string[] = []
    try {
      const s = await runSync(receiveDeps(new MemoryStore()), ssh, {mode: 'pull', threads: 0, retry: {retries: 3, baseMs: 10, maxMs: 20, onRetry: (_n, _ms, e) => retries.push(e.message)}})
      expect(retries).toEqual([expect.stringMatching(/^remote lab: the remote steme on .* had stopped waiting for this client \(sync-serve: no request from the client for 600 s/)])
      expect(s.local.added).toBe(100)
    } finally {
      await ssh.close()
    }
  }, 60_000)
})

describe('a reconnect that meets a real failure', () => {
  /**
   * Pull a store over SSH; once the remote has answered, kill its steme (so the next request
   * reconnects) and `breakIt`, before that request goes. Returns the error and the retries noted.
   */
  async function pullBroken(name: string, breakIt: (sshd: Sshd, store: string) => Promise<void> | void) {
    const sshd = await startSshd()
    const both = await makeRecords(300, {tag: `${name}-both`})
    const store = await remoteStore(name, [...both, ...(await makeRecords(300, {tag: name}))])
    const remote = pidWrapper(name)
    const ssh = openSshTransport('lab', {user: sshd.user, host: '127.0.0.1', port: sshd.port, path: store}, {identities: [sshd.identity], knownHosts: sshd.knownHosts, remoteCmd: remote.cmd, env: {HOME: sshd.dir}})
    let breaking: Promise<void> | undefined
    // The real transport, with each request held until the breaking is done.
    const t = {...ssh, request: async (m: Uint8Array) => (await breaking, ssh.request(m))}
    // A local store holding some of the remote's records: the pull takes more than one round.
    const local = await memoryWith(both)
    const retries: string[] = []
    try {
      const err = await runSync(receiveDeps(local), t, {
        mode: 'pull',
        threads: 0,
        retry: {retries: 3, baseMs: 10, maxMs: 20, onRetry: (_n, _ms, e) => retries.push(e.message)},
        onProgress: () => {
          breaking ??= (async () => {
            const pid = remote.pids()[0]
            process.kill(pid, 'SIGKILL')
            await until(() => !existsSync(`/proc/${pid}`), 'the remote steme to die')
            await breakIt(sshd, store)
          })()
        },
      }).then(
        () => undefined,
        (e: Error & {hint?: string; exit?: number; code?: string}) => e,
      )
      return {err, retries, broke: breaking !== undefined}
    } finally {
      await ssh.close()
      await sshd.stop()
    }
  }

  /** The failure came at once: no retry but, at most, the one for the killed steme's closed channel. */
  function notRetried({err, retries, broke}: Awaited<ReturnType<typeof pullBroken>>) {
    expect(broke).toBe(true)
    expect(err).toBeInstanceOf(UserError)
    expect(err).not.toBeInstanceOf(TransportError)
    expect(retries.length).toBeLessThanOrEqual(1)
    for (const r of retries) expect(r).toMatch(/the channel to .* closed \(the remote steme was killed by SIGKILL\)/)
    expect(err!.message).toMatch(/^remote lab: /)
  }

  it('a refused login', async () => {
    const r = await pullBroken('auth', (sshd) => writeFileSync(join(sshd.dir, 'authorized_keys'), ''))
    notRetried(r)
    expect(r.err!.message).toMatch(/refused every key offered/)
  }, 60_000)

  it('a changed host key', async () => {
    const r = await pullBroken('hostkey', async (sshd) => {
      await sshd.halt()
      await sshd.resume({newHostKey: true})
    })
    notRetried(r)
    expect(r.err!.message).toMatch(/the host key of .* does NOT match/)
  }, 60_000)

  it('a remote store gone', async () => {
    const r = await pullBroken('gone', (_sshd, store) => renameSync(store, `${store}.moved`))
    notRetried(r)
    expect(r.err!.message).toMatch(/steme on .* failed: no store at /)
    expect((r.err as UserError).hint).toMatch(/check the remote path/)
  }, 60_000)
})
