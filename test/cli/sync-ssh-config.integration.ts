/** `steme pull ssh://<alias>/...` as an OpenSSH user runs it: ~/.ssh/config honoured, over real sshd servers. */
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {connect, createServer, type AddressInfo, type Socket} from 'node:net'
import {createHmac, randomBytes} from 'node:crypto'
import {chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'
import {freePort, startSshd, type Sshd} from '../helpers/sshd.js'
import {CAPS} from '../../src/sync/server.js'
import {openSshTransport} from '../../src/sync/transports/ssh.js'
import {PROTOCOL, T, VERSION, decode, encode} from '../../src/sync/wire.js'

let sshd: Sshd
let sb: Sandbox
const REMOTE_CMD = `${process.execPath} ${BIN}`

beforeAll(async () => {
  sshd = await startSshd()
  sb = sandbox('steme-sshcfg-')
  for (const d of ['a', 'b']) {
    mkdirSync(join(sb.dir, d))
    expect(sb.run(['init'], {cwd: join(sb.dir, d)}).code).toBe(0)
  }
  for (let i = 0; i < 3; i++) expect(sb.run(['assert', `drug:${i}`, 'rate', String(i)], {cwd: join(sb.dir, 'b')}).code).toBe(0)
  mkdirSync(join(sb.dir, '.ssh'), {mode: 0o700})
  // No default key (~/.ssh/id_*): only the config's IdentityFile can log in.
  copyFileSync(sshd.identity, join(sb.dir, '.ssh', 'work_key'))
  writeFileSync(join(sb.dir, '.ssh', 'kh_work'), sshd.hostKeyLine + '\n')
})
afterAll(async () => {
  await sshd?.stop()
  sb?.cleanup()
})

const a = () => join(sb.dir, 'a')
const b = () => join(sb.dir, 'b')
const config = () => join(sb.dir, '.ssh', 'config')
const setConfig = (lines: string[]) => writeFileSync(config(), lines.join('\n') + '\n')
// The system config is left out, so what this machine's /etc/ssh/ssh_config says does not matter.
const pull = (url: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) => sb.run(['pull', url, '--remote-cmd', REMOTE_CMD, '--json', ...extra], {cwd: a(), env: {STEME_SSH_SYSTEM_CONFIG: join(sb.dir, 'no-system-config'), ...env}})
const count = (dir: string) => sb.json<{records: number}>(['stats'], {cwd: dir}).records

const myserver = () => [
  '# work machines',
  'Host myserver other',
  '  HostName 127.0.0.1',
  `  Port ${sshd.port}`,
  `  User ${sshd.user}`,
  '  IdentityFile ~/.ssh/work_key',
  '  UserKnownHostsFile %d/.ssh/kh_work',
  '',
  'Host *',
  // First match wins: these come too late to change myserver's port or user.
  '  Port 1',
  '  User nobody-here',
]

describe('SSH sync honours ~/.ssh/config', () => {
  it('a Host alias: HostName, Port, User, IdentityFile and UserKnownHostsFile from the config', () => {
    setConfig(myserver())
    const r = pull(`ssh://myserver${b()}`)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).local.added).toBe(3)
    expect(count(a())).toBe(3)
  })

  it('a user or port in the URL wins over the config', () => {
    setConfig(['Host myserver', '  HostName 127.0.0.1', '  Port 1', '  User nobody-here', '  IdentityFile ~/.ssh/work_key', '  UserKnownHostsFile ~/.ssh/kh_work'])
    const r = pull(`ssh://${sshd.user}@myserver:${sshd.port}${b()}`)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })

  it('an unknown host key: the error names the name it looked up and the file it checked', () => {
    setConfig([...myserver().slice(0, 6), '  UserKnownHostsFile ~/.ssh/kh_empty'])
    const r = pull(`ssh://myserver${b()}`)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`the host key of [127.0.0.1]:${sshd.port} (ssh-ed25519 SHA256:`)
    expect(r.stderr).toContain(`is not in ${join(sb.dir, '.ssh', 'kh_empty')}`)
    expect(r.stderr).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${join(sb.dir, '.ssh', 'kh_empty')}`)
  })

  it('HostKeyAlias: the key is looked up under the alias', () => {
    const key = sshd.hostKeyLine.split(' ').slice(1).join(' ')
    writeFileSync(join(sb.dir, '.ssh', 'kh_alias'), `build-box ${key}\n`)
    setConfig([...myserver().slice(0, 6), '  UserKnownHostsFile ~/.ssh/kh_alias', '  HostKeyAlias build-box'])
    const r = pull(`ssh://myserver${b()}`)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    // Another alias, not in the file: refused, naming that alias.
    setConfig([...myserver().slice(0, 6), '  UserKnownHostsFile ~/.ssh/kh_alias', '  HostKeyAlias other-box'])
    const r2 = pull(`ssh://myserver${b()}`)
    expect(r2.code).toBe(1)
    expect(r2.stderr).toMatch(/host key of other-box \(HostKeyAlias for \[127\.0\.0\.1\]:\d+\)/)
  })

  it('StrictHostKeyChecking accept-new records a new host key, and still refuses a changed one', () => {
    const kh = join(sb.dir, '.ssh', 'kh_new')
    setConfig([...myserver().slice(0, 6), '  UserKnownHostsFile ~/.ssh/kh_new', '  StrictHostKeyChecking accept-new'])
    const r = pull(`ssh://myserver${b()}`)
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(new RegExp(`accepted the host key of \\[127\\.0\\.0\\.1\\]:${sshd.port} .* added it to ${kh.replace(/[.]/g, '\\.')} \\(StrictHostKeyChecking accept-new, ${config().replace(/[.]/g, '\\.')} line 8\\)`))
    expect(readFileSync(kh, 'utf8')).toContain(sshd.hostKeyLine)
    // The same name with another key: a changed key, refused whatever accept-new says.
    const other = readFileSync(`${sshd.identity}.pub`, 'utf8').trim().split(' ')
    writeFileSync(kh, `[127.0.0.1]:${sshd.port} ${other[0]} ${other[1]}\n`)
    const r2 = pull(`ssh://myserver${b()}`)
    expect(r2.code).toBe(1)
    expect(r2.stderr).toContain(`does NOT match ${kh} line 1`)
    expect(r2.stderr).toContain('accept-new records only new keys')
    // HashKnownHosts yes: recorded with the name hashed, as ssh would, and found again.
    writeFileSync(kh, '')
    setConfig([...myserver().slice(0, 6), '  UserKnownHostsFile ~/.ssh/kh_new', '  StrictHostKeyChecking accept-new', '  HashKnownHosts yes'])
    expect(pull(`ssh://myserver${b()}`).code).toBe(0)
    const line = readFileSync(kh, 'utf8')
    expect(line).toMatch(/^\|1\|[^ ]+ ssh-ed25519 /)
    expect(line).not.toContain('127.0.0.1')
    const again = pull(`ssh://myserver${b()}`)
    expect(again.code).toBe(0)
    expect(again.stderr).toBe('')
  })

  it('@revoked refuses the key wherever it stands: after a line that knows it, in a later UserKnownHostsFile, or in GlobalKnownHostsFile', () => {
    const key = sshd.hostKeyLine.split(' ').slice(1).join(' ')
    const revoked = `@revoked * ${key}`
    // The same file: the host's key on line 1, revoked on line 2.
    writeFileSync(join(sb.dir, '.ssh', 'kh_both'), `${sshd.hostKeyLine}\n${revoked}\n`)
    setConfig([...myserver().slice(0, 6), '  UserKnownHostsFile ~/.ssh/kh_both'])
    const r = pull(`ssh://myserver${b()}`)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`is marked @revoked in ${join(sb.dir, '.ssh', 'kh_both')} line 2`)
    // Two files: the first knows the key, the second revokes it.
    writeFileSync(join(sb.dir, '.ssh', 'kh_revoked'), revoked + '\n')
    setConfig([...myserver().slice(0, 6), '  UserKnownHostsFile ~/.ssh/kh_work ~/.ssh/kh_revoked'])
    const r2 = pull(`ssh://myserver${b()}`, ['--accept-host-key'])
    expect(r2.code).toBe(1)
    expect(r2.stderr).toContain(`is marked @revoked in ${join(sb.dir, '.ssh', 'kh_revoked')} line 1`)
    // The system-wide file (GlobalKnownHostsFile) revokes too, as it does for ssh.
    setConfig([...myserver().slice(0, 6), '  UserKnownHostsFile ~/.ssh/kh_work', '  GlobalKnownHostsFile ~/.ssh/kh_revoked'])
    const r3 = pull(`ssh://myserver${b()}`)
    expect(r3.code).toBe(1)
    expect(r3.stderr).toContain(`is marked @revoked in ${join(sb.dir, '.ssh', 'kh_revoked')} line 1`)
    // Without the revocation, the first file lets it in.
    setConfig([...myserver().slice(0, 6), '  UserKnownHostsFile ~/.ssh/kh_work ~/.ssh/kh_none'])
    expect(pull(`ssh://myserver${b()}`).code).toBe(0)
  })

  it('host names are looked up in known_hosts lowercased, as ssh does: a hashed @revoked line for the name refuses it whatever its case', () => {
    const key = sshd.hostKeyLine.split(' ').slice(1).join(' ')
    const salt = randomBytes(20)
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('mybox').digest('base64')}`
    // Known under the alias in plain text (matched without case), revoked in the system file hashed, as ssh writes names.
    writeFileSync(join(sb.dir, '.ssh', 'kh_alias'), `mybox ${key}\n`)
    writeFileSync(join(sb.dir, '.ssh', 'kh_alias_revoked'), `@revoked ${hashed} ${key}\n`)
    const lines = [...myserver().slice(0, 6), '  HostKeyAlias MyBox', `  UserKnownHostsFile ${join(sb.dir, '.ssh', 'kh_alias')}`, `  GlobalKnownHostsFile ${join(sb.dir, '.ssh', 'kh_alias_revoked')}`]
    setConfig(lines)
    // OpenSSH refuses it.
    const ssh = spawnSync('ssh', ['-F', config(), '-o', 'BatchMode=yes', '-i', join(sb.dir, '.ssh', 'work_key'), 'myserver', 'true'], {encoding: 'utf8'})
    expect(ssh.status).not.toBe(0)
    expect(ssh.stderr).toMatch(/REVOKED/)
    const r = pull(`ssh://myserver${b()}`)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`the host key of mybox is marked @revoked in ${join(sb.dir, '.ssh', 'kh_alias_revoked')} line 1`)
    // A host name typed with capitals is the same host.
    setConfig(['Host *', '  HostName 127.0.0.1', `  Port ${sshd.port}`, `  User ${sshd.user}`, '  IdentityFile ~/.ssh/work_key', `  UserKnownHostsFile ${join(sb.dir, '.ssh', 'kh_alias')}`, `  GlobalKnownHostsFile ${join(sb.dir, '.ssh', 'kh_alias_revoked')}`, '  HostKeyAlias MYBOX'])
    expect(pull(`ssh://MyServer${b()}`).code).toBe(1)
  })

  it('GlobalKnownHostsFile: a key listed there is known, as ssh takes it; one revoked anywhere or changed is still refused, and accept-new writes only to the user file', () => {
    const key = sshd.hostKeyLine.split(' ').slice(1).join(' ')
    // Full paths: ssh expands ~ from the password file, not from this sandbox's HOME.
    const system = join(sb.dir, '.ssh', 'kh_system')
    const mine = join(sb.dir, '.ssh', 'kh_mine')
    writeFileSync(system, sshd.hostKeyLine + '\n')
    const lines = [...myserver().slice(0, 6), `  UserKnownHostsFile ${mine}`, `  GlobalKnownHostsFile ${system}`]
    setConfig(lines)
    // OpenSSH connects: the administrator's file knows the key.
    const ssh = spawnSync('ssh', ['-F', config(), '-o', 'BatchMode=yes', '-i', join(sb.dir, '.ssh', 'work_key'), 'myserver', 'true'], {encoding: 'utf8'})
    expect(ssh.stderr).not.toMatch(/Host key verification failed/)
    expect(ssh.status).toBe(0)
    const r = pull(`ssh://myserver${b()}`)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    // accept-new has nothing to record for a key the system's file knows.
    setConfig([...lines, '  StrictHostKeyChecking accept-new'])
    const known = pull(`ssh://myserver${b()}`)
    expect(known.stderr).toBe('')
    expect(known.code).toBe(0)
    expect(existsSync(mine)).toBe(false)
    // A key it does not know is recorded in the user's file, never in the system's.
    writeFileSync(system, `[127.0.0.1]:${sshd.port + 1} ${key}\n`)
    const added = pull(`ssh://myserver${b()}`)
    expect(added.code).toBe(0)
    expect(added.stderr).toContain(`added it to ${mine}`)
    expect(readFileSync(mine, 'utf8')).toBe(sshd.hostKeyLine + '\n')
    expect(readFileSync(system, 'utf8')).toBe(`[127.0.0.1]:${sshd.port + 1} ${key}\n`)
    // Revoked in the user's file: refused, though the system's file lists it.
    writeFileSync(system, sshd.hostKeyLine + '\n')
    writeFileSync(mine, `@revoked * ${key}\n`)
    setConfig(lines)
    const revoked = pull(`ssh://myserver${b()}`)
    expect(revoked.code).toBe(1)
    expect(revoked.stderr).toContain(`is marked @revoked in ${mine} line 1`)
    // Another key of that type under the name in the system's file: a changed key, refused
    // whatever accept-new says, with a hint that does not ask the user to edit the system's file.
    const other = readFileSync(`${sshd.identity}.pub`, 'utf8').trim().split(' ')
    writeFileSync(system, `[127.0.0.1]:${sshd.port} ${other[0]} ${other[1]}\n`)
    writeFileSync(mine, '')
    setConfig([...lines, '  StrictHostKeyChecking accept-new'])
    const changed = pull(`ssh://myserver${b()}`)
    expect(changed.code).toBe(1)
    const err = JSON.parse(changed.stdout).error
    expect(err.message).toContain(`does NOT match ${system} line 1`)
    expect(err.hint).toContain("that file is the system's (GlobalKnownHostsFile)")
    expect(readFileSync(mine, 'utf8')).toBe('')
    // An unknown key: the error names the system's file as checked too.
    writeFileSync(system, `[127.0.0.1]:${sshd.port + 1} ${key}\n`)
    setConfig(lines)
    const unknown = pull(`ssh://myserver${b()}`)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain(`is not in ${mine} (nor in the system's ${system})`)
  })

  it('a private key others can read is not offered, as ssh ignores it: named with the chmod that fixes it', () => {
    const open = join(sb.dir, '.ssh', 'open_key')
    copyFileSync(sshd.identity, open)
    chmodSync(open, 0o644)
    setConfig([...myserver().slice(0, 5), `  IdentityFile ${open}`, '  UserKnownHostsFile %d/.ssh/kh_work'])
    // OpenSSH will not use it.
    const ssh = spawnSync('ssh', ['-F', config(), '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${join(sb.dir, '.ssh', 'kh_work')}`, 'myserver', 'true'], {encoding: 'utf8'})
    expect(ssh.status).not.toBe(0)
    expect(ssh.stderr).toMatch(/UNPROTECTED PRIVATE KEY FILE/)
    const r = pull(`ssh://myserver${b()}`)
    expect(r.code).toBe(1)
    const err = JSON.parse(r.stdout).error
    expect(err.message).toContain(`${open} (IdentityFile, ${config()} line 6) is readable by others (mode 0644), which ssh ignores too`)
    expect(err.hint).toBe(`make it readable by you alone: \`chmod 600 ${open}\``)
    // Given by --identity, it is refused before connecting.
    const id = pull(`ssh://myserver${b()}`, ['--identity', open])
    expect(id.code).toBe(2)
    expect(id.stderr).toContain(`--identity ${open} is readable by others (mode 0644)`)
    chmodSync(open, 0o600)
    expect(pull(`ssh://myserver${b()}`).code).toBe(0)
  })

  it('an IdentityFile that is not there: the error names it with its config file and line', () => {
    setConfig(['Host myserver', '  HostName 127.0.0.1', `  Port ${sshd.port}`, '  IdentityFile ~/.ssh/gone_key', '  IdentitiesOnly yes', '  UserKnownHostsFile ~/.ssh/kh_work'])
    const r = pull(`ssh://myserver${b()}`, [], {SSH_AUTH_SOCK: ''})
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${join(sb.dir, '.ssh', 'gone_key')} (IdentityFile, ${config()} line 4) does not exist`)
    expect(r.stderr).toContain(`fix IdentityFile at ${config()} line 4`)
  })

  it('STEME_SSH_CONFIG names the config file, as ssh -F does; none reads no config', () => {
    const alt = join(sb.dir, 'alt_config')
    writeFileSync(alt, myserver().join('\n') + '\n')
    setConfig(['Host myserver', '  HostName 127.0.0.1', '  Port 1'])
    const r = pull(`ssh://myserver${b()}`, [], {STEME_SSH_CONFIG: alt})
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    // none: ~/.ssh/config's key for this host is not used, and there is no default key.
    setConfig(['Host 127.0.0.1', '  IdentityFile ~/.ssh/work_key', '  UserKnownHostsFile ~/.ssh/kh_work'])
    expect(pull(`ssh://${sshd.user}@127.0.0.1:${sshd.port}${b()}`).code).toBe(0)
    const none = pull(`ssh://${sshd.user}@127.0.0.1:${sshd.port}${b()}`, [], {STEME_SSH_CONFIG: 'none'})
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/no SSH key to log in to/)
  })

  it('ProxyCommand is refused, naming the file and line, never ignored', () => {
    setConfig([...myserver().slice(0, 6), '  ProxyCommand nc -x proxy:1080 %h %p'])
    const r = pull(`ssh://myserver${b()}`)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`${config()} line 7 sets ProxyCommand nc -x proxy:1080 %h %p for myserver, which steme does not support`)
    expect(r.stderr).toMatch(/ProxyJump/)
  })

  it('Match exec is refused, and its command never runs', () => {
    const ran = join(sb.dir, 'match-exec-ran')
    setConfig([`Match exec "touch ${ran}"`, '  Port 1', ...myserver()])
    const r = pull(`ssh://myserver${b()}`)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`\`Match exec\` (${config()} line 1) may apply to myserver`)
    expect(existsSync(ran)).toBe(false)
    // A criterion that already failed decides the block: the exec is then never reached.
    setConfig(['Match originalhost elsewhere exec "false"', '  Port 1', ...myserver()])
    expect(pull(`ssh://myserver${b()}`).code).toBe(0)
  })

  it('an option value steme cannot read is an error naming the file and line', () => {
    setConfig([...myserver().slice(0, 6), '  ConnectTimeout soon'])
    const r = pull(`ssh://myserver${b()}`)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`ConnectTimeout soon (${config()} line 7) is not a whole number of seconds`)
  })
})

describe('ProxyJump', () => {
  let jump: Sshd
  let target: Sshd
  beforeAll(async () => {
    jump = await startSshd({logLevel: 'DEBUG1', config: ['AllowTcpForwarding yes']})
    target = await startSshd()
    copyFileSync(jump.identity, join(sb.dir, '.ssh', 'jump_key'))
    copyFileSync(target.identity, join(sb.dir, '.ssh', 'target_key'))
    writeFileSync(join(sb.dir, '.ssh', 'kh_jump'), jump.hostKeyLine + '\n' + target.hostKeyLine + '\n')
  })
  afterAll(async () => {
    await jump?.stop()
    await target?.stop()
  })
  const hosts = () => [
    'Host inner',
    '  HostName 127.0.0.1',
    `  Port ${target.port}`,
    '  IdentityFile ~/.ssh/target_key',
    '  ProxyJump bastion',
    'Host bastion',
    '  HostName 127.0.0.1',
    `  Port ${jump.port}`,
    '  IdentityFile ~/.ssh/jump_key',
    'Host *',
    '  UserKnownHostsFile ~/.ssh/kh_jump',
    '  IdentitiesOnly yes',
  ]

  it('reaches the target through the jump host, each hop with its own key and host key check', async () => {
    setConfig(hosts())
    const r = pull(`ssh://inner${b()}`)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    // The jump host's sshd forwarded the connection to the target's port.
    // (Its log reaches this process once the event loop runs again, after the synchronous run.)
    const forwarded = new RegExp(`direct_tcpip: originator .* target 127\\.0\\.0\\.1 port ${target.port}`)
    for (let i = 0; i < 100 && !forwarded.test(jump.log()); i++) await new Promise((r) => setTimeout(r, 50))
    expect(jump.log()).toMatch(forwarded)
  })

  it('a remote steme that stops between requests: the jump host connection of that session is closed with it', async () => {
    setConfig(hosts())
    // The remote steme ends by itself one second after an answer (its idle timeout).
    const wrapper = join(sb.dir, 'idle-steme.sh')
    writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@" --idle-timeout 1\n`, {mode: 0o755})
    // Our TCP connections to the jump host's sshd.
    const toJump = () => execFileSync('ss', ['-Htn', 'state', 'established', `( dport = :${jump.port} )`], {encoding: 'utf8'}).split('\n').filter((l) => l.trim()).length
    const ssh = openSshTransport('inner', {host: 'inner', path: b()}, {remoteCmd: wrapper, env: {...sb.env, STEME_SSH_SYSTEM_CONFIG: join(sb.dir, 'no-system-config')}})
    const hello = encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: CAPS, mode: 'pull'}}])
    try {
      expect(decode(await ssh.request(hello))[0]).toMatchObject({t: T.Hello})
      expect(toJump()).toBe(1)
      // The remote steme goes, the client ends the target connection, and the jump host's with it
      // instead of keeping it open (with keepalives) until the sync ends.
      for (let i = 0; i < 300 && toJump() > 0; i++) await new Promise((r) => setTimeout(r, 100))
      expect(toJump()).toBe(0)
      // The next request goes through the jump host again, on new connections.
      expect(decode(await ssh.request(hello))[0]).toMatchObject({t: T.Hello})
      expect(toJump()).toBe(1)
    } finally {
      await ssh.close()
    }
  }, 60_000)

  it('a jump host with an unknown host key is refused, naming it as the jump host', () => {
    writeFileSync(join(sb.dir, '.ssh', 'kh_target_only'), target.hostKeyLine + '\n')
    setConfig([...hosts().slice(0, 10), '  UserKnownHostsFile ~/.ssh/kh_target_only', '  IdentitiesOnly yes'])
    const r = pull(`ssh://inner${b()}`)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`the host key of jump host [127.0.0.1]:${jump.port}`)
  })

  it('a jump host that refuses to forward: the error says so', async () => {
    const closed = await freePort()
    setConfig([...hosts().map((l) => l.replace(`Port ${target.port}`, `Port ${closed}`))])
    const r = pull(`ssh://inner${b()}`)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`would not forward a connection to 127.0.0.1 port ${closed}`)
  })

  // A listener that never accepts, its queue full: a connection to it hangs in the kernel's SYN
  // retries (minutes), as to a host that drops packets. Python's socket gives a listen backlog of 0.
  const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0
  it.runIf(hasPython)('a jump host whose connection onward hangs: given up after the target\'s ConnectTimeout, not the kernel\'s minutes', async () => {
    const py = spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket();s.bind(("127.0.0.1",0));s.listen(0);print(s.getsockname()[1],flush=True);time.sleep(120)'])
    try {
      const port = Number(await new Promise<string>((r) => py.stdout.once('data', (d: Buffer) => r(d.toString().trim()))))
      const filler = connect(port, '127.0.0.1')
      await new Promise((r) => filler.once('connect', r))
      setConfig([...hosts().map((l) => l.replace(`Port ${target.port}`, `Port ${port}`)), '  ConnectTimeout 2'])
      const ssh = openSshTransport('inner', {host: 'inner', path: b()}, {remoteCmd: REMOTE_CMD, env: {...sb.env, STEME_SSH_SYSTEM_CONFIG: join(sb.dir, 'no-system-config')}})
      const hello = encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: CAPS, mode: 'pull'}}])
      try {
        await expect(ssh.request(hello)).rejects.toThrow(`cannot reach root@[127.0.0.1]:${port} (inner in ${config()}) (jump host`.replace('root', target.user))
      } finally {
        await ssh.close()
        filler.destroy()
      }
    } finally {
      py.kill()
    }
  }, 30_000)

  // This process's open sockets.
  const socketFds = () => readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(join('/proc/self/fd', fd)).startsWith('socket:')
    } catch {
      return false
    }
  }).length

  it.runIf(existsSync('/proc/self/fd'))('close() while a jump host is still in its handshake: the waiting request is told, no connection is left open', async () => {
    // A "jump host" that accepts the connection and never says a word.
    const sockets: Socket[] = []
    const silent = createServer((s) => sockets.push(s))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as AddressInfo).port
    try {
      setConfig([...hosts().map((l) => l.replace(`Port ${jump.port}`, `Port ${port}`)), '  ConnectTimeout 600'])
      const ssh = openSshTransport('inner', {host: 'inner', path: b()}, {remoteCmd: REMOTE_CMD, env: {...sb.env, STEME_SSH_SYSTEM_CONFIG: join(sb.dir, 'no-system-config')}})
      const hello = encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: CAPS, mode: 'pull'}}])
      const pending = ssh.request(hello)
      for (let i = 0; i < 100 && sockets.length === 0; i++) await new Promise((r) => setTimeout(r, 50))
      expect(sockets.length).toBe(1)
      const open = socketFds()
      await ssh.close()
      // Settled only once our socket to it is closed (not half-closed, as a host that never reads
      // would otherwise keep it): its file descriptor is given back.
      await expect(pending).rejects.toThrow(/^remote inner: .*jump host /)
      expect(socketFds()).toBe(open - 1)
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  }, 30_000)
})
