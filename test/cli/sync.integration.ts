/** `steme remote`, `pull`, `push`, `sync` and `sync-serve` as a user runs them, over a real sshd and a real HTTP server. */
import {spawn} from 'node:child_process'
import {execFileSync} from 'node:child_process'
import {copyFileSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, sandbox, tamperStore, type Sandbox} from '../helpers/cli.js'
import {freePort, startSshd, type Sshd} from '../helpers/sshd.js'

let sshd: Sshd
let sb: Sandbox
const REMOTE_CMD = `${process.execPath} ${BIN}`

beforeAll(async () => {
  sshd = await startSshd()
  sb = sandbox('steme-sync-cli-')
  for (const d of ['a', 'b']) {
    mkdirSync(join(sb.dir, d))
    expect(sb.run(['init'], {cwd: join(sb.dir, d)}).code).toBe(0)
  }
  for (let i = 0; i < 5; i++) expect(sb.run(['assert', `drug:${i}`, 'rate', String(i)], {cwd: join(sb.dir, 'b')}).code).toBe(0)
  expect(sb.run(['assert', 'drug:a', 'rate', '7'], {cwd: join(sb.dir, 'a')}).code).toBe(0)
  mkdirSync(join(sb.dir, '.ssh'), {mode: 0o700})
  copyFileSync(sshd.identity, join(sb.dir, '.ssh', 'id_ed25519'))
})
afterAll(async () => {
  await sshd?.stop()
  sb?.cleanup()
})

const a = () => join(sb.dir, 'a')
const sshUrl = (path: string) => `ssh://${sshd.user}@127.0.0.1:${sshd.port}${path}`
const knownHosts = () => join(sb.dir, '.ssh', 'known_hosts')
const count = (dir: string) => (sb.json<{records: number}>(['stats'], {cwd: dir})).records

describe('sync over SSH from the CLI', () => {
  it('manages named remotes', () => {
    expect(sb.run(['remote', 'add', 'origin', sshUrl(join(sb.dir, 'b'))], {cwd: a()}).code).toBe(0)
    const bad = sb.run(['remote', 'add', 'origin', '../b'], {cwd: a()})
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/already exists/)
    expect(sb.run(['remote', 'add', 'side', '../b'], {cwd: a()}).code).toBe(0)
    const list = sb.json<{remotes: {name: string; kind: string}[]}>(['remote', 'list'], {cwd: a()})
    expect(list.remotes.map((r) => [r.name, r.kind])).toEqual([['origin', 'ssh'], ['side', 'path']])
    expect(sb.run(['remote', 'remove', 'side'], {cwd: a()}).code).toBe(0)
    expect(readFileSync(join(a(), '.steme', 'config.toml'), 'utf8')).toMatch(/# steme store configuration/)
  })

  it('refuses an unknown host key, says how to fix it, and leaves the store alone', () => {
    const r = sb.run(['pull', 'origin', '--remote-cmd', REMOTE_CMD], {cwd: a()})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/host key of \[127\.0\.0\.1\]:\d+ .*SHA256:.* is not in/)
    expect(r.stderr).toMatch(/ssh-keyscan -p \d+ 127\.0\.0\.1/)
    expect(r.stderr).toMatch(/--accept-host-key/)
    expect(count(a())).toBe(1)
  })

  it('pulls with --accept-host-key and records the key', () => {
    const r = sb.run(['pull', '--accept-host-key', '--remote-cmd', REMOTE_CMD, '--json'], {cwd: a()})
    expect(r.code).toBe(0)
    const s = JSON.parse(r.stdout)
    expect(s.local.added).toBe(5)
    expect(readFileSync(knownHosts(), 'utf8')).toContain(sshd.hostKeyLine.split(' ').slice(1).join(' '))
    expect(count(a())).toBe(6)
  })

  it('syncs both ways with the key now known', () => {
    const r = sb.run(['sync', 'origin', '--remote-cmd', REMOTE_CMD], {cwd: a()})
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/sent +1 record: 1 added there/)
    expect(r.stdout).toMatch(/in step: both hold 6 records/)
  })

  it('a local store that cannot be opened: its error, not the connection it had started', async () => {
    // The SSH connection starts while the local store opens; here the store is held by a
    // sync server, so the pull fails on the lock once its wait (short here) is up, and nothing lingers.
    const config = join(a(), '.steme', 'config.toml')
    const saved = readFileSync(config, 'utf8')
    writeFileSync(config, saved.replace('busy_timeout_seconds = 10', 'busy_timeout_seconds = 0.5'))
    const srv = spawn(process.execPath, [BIN, 'sync-serve', '--http', '0', '--store', a()], {env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
    try {
      await new Promise<string>((res, rej) => {
        srv.stdout!.once('data', (d) => res(String(d).trim()))
        srv.once('exit', (code) => rej(new Error(`exited ${code}`)))
      })
      const r = await sb.runAsync(['pull', 'origin', '--remote-cmd', REMOTE_CMD], {cwd: a()})
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(/^error: .*(lock|held|in use)/im)
      expect(r.stderr).not.toMatch(/internal error|ssh/i)
      expect(r.stderr).toMatch(/waited \d+(\.\d)? s/)
    } finally {
      writeFileSync(config, saved)
      srv.kill('SIGTERM')
      await new Promise((res) => (srv.exitCode !== null ? res(undefined) : srv.once('exit', res)))
    }
  })

  it('refuses a changed host key', () => {
    const saved = readFileSync(knownHosts(), 'utf8')
    const other = join(sb.dir, 'otherkey')
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other])
    writeFileSync(knownHosts(), `[127.0.0.1]:${sshd.port} ${readFileSync(other + '.pub', 'utf8').split(' ').slice(0, 2).join(' ')}\n`)
    const r = sb.run(['pull', '--remote-cmd', REMOTE_CMD], {cwd: a()})
    writeFileSync(knownHosts(), saved)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/does NOT match/)
    expect(r.stderr).toMatch(/ssh-keygen -f .* -R/)
  })

  it('explains refused auth, an unreachable host, a missing steme and a path that is not a store', async () => {
    const stranger = join(sb.dir, 'stranger')
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger])
    const auth = sb.run(['pull', '--identity', stranger, '--remote-cmd', REMOTE_CMD], {cwd: a()})
    expect(auth.code).toBe(1)
    expect(auth.stderr).toMatch(/refused every key/)
    expect(auth.stderr).toMatch(/authorized_keys/)

    const port = await freePort()
    const down = sb.run(['pull', `ssh://${sshd.user}@127.0.0.1:${port}/x`, '--retries', '0'], {cwd: a()})
    expect(down.code).toBe(1)
    expect(down.stderr).toMatch(/cannot reach .*ECONNREFUSED/)

    const missing = sb.run(['pull', '--remote-cmd', 'no-such-steme'], {cwd: a()})
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/`no-such-steme` was not found/)
    expect(missing.stderr).toMatch(/--remote-cmd/)

    const notStore = sb.run(['pull', sshUrl(join(sb.dir, 'nowhere')), '--remote-cmd', REMOTE_CMD], {cwd: a()})
    expect(notStore.code).toBe(2)
    expect(notStore.stderr).toMatch(/no store at/)
    expect(notStore.stderr).toMatch(/hint: check the remote path/)
    expect(notStore.stderr).not.toMatch(/--store|STEME_STORE|--remote /)
    expect(count(a())).toBe(6)
  })
})

describe('a remote that names no store', () => {
  it('is a configuration error (exit 2, no_store) over SSH as over a path, for pull, push and sync', () => {
    const nowhere = join(sb.dir, 'nonexistent', 'dir')
    for (const cmd of ['pull', 'push', 'sync']) {
      for (const remote of [nowhere, sshUrl(nowhere)]) {
        const r = sb.run([cmd, remote, '--remote-cmd', REMOTE_CMD, '--json'], {cwd: a()})
        expect(r.code, `${cmd} ${remote}: ${r.stderr}`).toBe(2)
        const err = JSON.parse(r.stdout).error
        expect(err.code).toBe('no_store')
        expect(err.message).toMatch(/no store at .*nonexistent/)
        expect(err.hint).toMatch(/^check the remote path/)
      }
    }
    expect(count(a())).toBe(6)
  })
})

describe('a remote store written by a newer steme', () => {
  it('says to upgrade the remote steme, not to run init there', () => {
    const newer = join(sb.dir, 'newer')
    mkdirSync(newer)
    expect(sb.run(['init'], {cwd: newer}).code).toBe(0)
    tamperStore({dir: newer}, 'INSERT INTO schema_version (version) VALUES (99)')
    const r = sb.run(['pull', sshUrl(newer), '--remote-cmd', REMOTE_CMD], {cwd: a()})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/has schema version 99, newer than this steme understands/)
    expect(r.stderr).toContain(`hint: upgrade steme on ${sshd.user}@[127.0.0.1]:${sshd.port} (the one \`${REMOTE_CMD}\` runs there): a newer steme wrote that store`)
    expect(r.stderr).not.toMatch(/steme init/)
  })
})

describe('SSH keys steme cannot offer', () => {
  it('a key with a passphrase, a public key and a file that is no key are named, not blamed on the server', () => {
    const locked = join(sb.dir, 'locked_key')
    copyFileSync(sshd.identity, locked)
    execFileSync('ssh-keygen', ['-q', '-p', '-N', 'a passphrase', '-f', locked])
    // No ssh-agent in the sandbox: the key cannot be unlocked.
    const enc = sb.run(['pull', '--identity', locked, '--remote-cmd', REMOTE_CMD, '--json'], {cwd: a()})
    expect(enc.code).toBe(1)
    const err = JSON.parse(enc.stdout).error
    expect(err.message).toContain(`no SSH key steme can use to log in to ${sshd.user}@[127.0.0.1]:${sshd.port}: ${locked} is protected by a passphrase`)
    expect(err.hint).toContain(`ssh-add ${locked}`)
    expect(enc.stderr).not.toMatch(/refused every key|retry/)

    const pub = sb.run(['pull', '--identity', `${sshd.identity}.pub`, '--remote-cmd', REMOTE_CMD], {cwd: a()})
    expect(pub.code).toBe(2)
    expect(pub.stderr).toContain(`--identity ${sshd.identity}.pub is a public key, not a private one`)
    expect(pub.stderr).toContain(`hint: pass the private key: --identity ${sshd.identity}`)

    const junk = join(sb.dir, 'not-a-key')
    writeFileSync(junk, 'hello\n')
    const notKey = sb.run(['pull', '--identity', junk, '--remote-cmd', REMOTE_CMD], {cwd: a()})
    expect(notKey.code).toBe(2)
    expect(notKey.stderr).toMatch(/is not a private key steme can read/)

    // Beside a key that logs in, the locked one is passed over and the pull goes on.
    const both = sb.run(['pull', '--identity', locked, '--identity', sshd.identity, '--remote-cmd', REMOTE_CMD], {cwd: a()})
    expect(both.code, both.stderr).toBe(0)
  })
})

describe('sync over a path from the CLI', () => {
  it('stores a relative path added from a subdirectory as absolute, resolved from where it was typed', () => {
    mkdirSync(join(a(), 'deep', 'er'), {recursive: true})
    const add = sb.run(['remote', 'add', 'near', '../../../b'], {cwd: join(a(), 'deep', 'er')})
    expect(add.code, add.stderr).toBe(0)
    expect(add.stdout).toContain(`: ${join(sb.dir, 'b')} (../../../b from this directory, stored absolute)`)
    expect(add.stderr).toBe('')
    const r = sb.run(['pull', 'near', '--json'], {cwd: join(a(), 'deep')})
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).remote).toBe(`near (${join(sb.dir, 'b')})`)
    const missing = sb.run(['remote', 'add', 'later', '../nowhere'], {cwd: a()})
    expect(missing.code).toBe(0)
    expect(missing.stderr).toMatch(/^warning: no store at .*nowhere yet/)
    expect(missing.stderr).toContain(`create it there with \`steme init --dir ${join(sb.dir, 'nowhere')}\``)
  })

  it('resolves a relative path written into [remotes] by hand against the store, from any subdirectory', () => {
    writeFileSync(join(a(), '.steme', 'config.toml'), readFileSync(join(a(), '.steme', 'config.toml'), 'utf8').replace(/^\[remotes\]$/m, '[remotes]\nhand = "../b"'))
    const r = sb.run(['pull', 'hand', '--json'], {cwd: join(a(), 'deep', 'er')})
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).remote).toBe('hand (../b)')
    const gone = sb.run(['pull', '../nowhere'], {cwd: a()})
    expect(gone.code).toBe(2)
    expect(gone.stderr).toMatch(/remote \.\.\/nowhere: no store at/)
  })
})

describe('pull or sync into a memory: store', () => {
  it('works, and says the records it added are dropped as the command ends', () => {
    const b = join(sb.dir, 'b')
    const before = count(b)
    for (const cmd of ['pull', 'sync']) {
      const r = sb.run([cmd, b, '--store', 'memory:', '--json'], {cwd: sb.dir})
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout).local.added).toBe(before)
      expect(r.stderr).toContain(`note: a memory: store lasts only while this command runs: the ${before} records added were verified, and are dropped as it ends; to keep what you ${cmd}, ${cmd} into a store on disk`)
    }
    // A store on disk keeps what it pulls: no such note.
    const disk = sb.run(['pull', b], {cwd: a()})
    expect(disk.code, disk.stderr).toBe(0)
    expect(disk.stderr).not.toMatch(/memory:/)
  })
})

describe('sync over HTTP from the CLI', () => {
  it('pulls from sync-serve --http and pushes back', async () => {
    const c = join(sb.dir, 'c')
    mkdirSync(c)
    expect(sb.run(['init'], {cwd: c}).code).toBe(0)
    expect(sb.run(['assert', 'drug:c', 'rate', '3'], {cwd: c}).code).toBe(0)
    const srv = spawn(process.execPath, [BIN, 'sync-serve', '--http', '0', '--store', join(sb.dir, 'b')], {env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
    try {
      const url = await new Promise<string>((res, rej) => {
        srv.stdout!.once('data', (d) => res(String(d).trim()))
        srv.once('exit', (code) => rej(new Error(`exited ${code}`)))
      })
      const s = JSON.parse((await sb.runAsync(['sync', url, '--json'], {cwd: c})).stdout)
      expect(s.local.added).toBe(6)
      expect(s.remoteResult.added).toBe(1)
      expect(s.remoteRoot).toEqual(s.localRoot)
      const wrong = await sb.runAsync(['pull', url + '/nope', '--retries', '0'], {cwd: c})
      expect(wrong.code).toBe(1)
      expect(wrong.stderr).toMatch(/does not serve sync/)
    } finally {
      srv.kill('SIGTERM')
    }
  })
})
