/** Resolving one host's options from real OpenSSH config files, as OpenSSH matches them. */
import {chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {resolveHostConfig} from '../../src/sync/transports/ssh-config.js'

const root = mkdtempSync(join(tmpdir(), 'steme-sshcfg-unit-'))
afterAll(() => rmSync(root, {recursive: true, force: true}))
let n = 0
const home = () => {
  const dir = join(root, `h${n++}`)
  mkdirSync(join(dir, '.ssh'), {recursive: true})
  return dir
}
const resolve = (dir: string, text: string, alias: string, extra: {user?: string; port?: number; system?: string} = {}) => {
  writeFileSync(join(dir, '.ssh', 'config'), text)
  const env = {HOME: dir, STEME_SSH_SYSTEM_CONFIG: extra.system ?? join(dir, 'no-system')}
  return resolveHostConfig({env, alias, user: extra.user, port: extra.port})
}

describe('ssh config', () => {
  it('first value wins; patterns, negation and case as OpenSSH matches them', () => {
    const dir = home()
    const text = ['Host *.lan !db.lan', '  User lanuser', '  ConnectTimeout 7', 'host db.lan', '  user dbuser', '  serveraliveinterval 5', 'Host *', '  User everyone', '  ServerAliveInterval 30', '  ServerAliveCountMax 2'].join('\n')
    const web = resolve(dir, text, 'web.lan')
    expect(web).toMatchObject({hostName: 'web.lan', user: 'lanuser', connectTimeoutMs: 7000, serverAliveIntervalMs: 30_000, serverAliveCountMax: 2})
    const db = resolve(dir, text, 'db.lan')
    expect(db).toMatchObject({user: 'dbuser', serverAliveIntervalMs: 5000})
    expect(db.connectTimeoutMs).toBeUndefined()
    expect(resolve(dir, text, 'db.lan', {user: 'me'}).user).toBe('me')
  })

  it('Host patterns and Match user are matched with case, Match host without, as ssh -G resolves them', () => {
    const dir = home()
    const text = ['Host PROD', '  StrictHostKeyChecking no', 'Host *.LAN', '  Port 2201', 'Match user BOB', '  HostKeyAlias bob-alias', 'Match host WEB.EXAMPLE', '  User webuser', 'Host *', '  Port 2222'].join('\n')
    // `Host PROD` is not prod: its StrictHostKeyChecking no does not apply.
    const prod = resolve(dir, text, 'prod')
    expect(prod.strictHostKeyChecking).toBeUndefined()
    expect(prod.port).toBe(2222)
    expect(resolve(dir, text, 'PROD').strictHostKeyChecking?.value).toBe('no')
    expect(resolve(dir, text, 'db.lan').port).toBe(2222)
    expect(resolve(dir, text, 'x', {user: 'bob'}).hostKeyAlias).toBeUndefined()
    expect(resolve(dir, text, 'x', {user: 'BOB'}).hostKeyAlias).toBe('bob-alias')
    expect(resolve(dir, text, 'web.example').user).toBe('webuser')
  })

  it('Match final: a second pass where Host matches the HostName and final blocks apply, as ssh -G resolves it', () => {
    const dir = home()
    const text = ['Host box', '  HostName real.example', 'Match final host real.example', '  UserKnownHostsFile ~/.ssh/kh_final', '  HostName ignored', 'Host real.example', '  Port 7777', 'Match canonical', '  User canon'].join('\n')
    const cfg = resolve(dir, text, 'box')
    expect(cfg).toMatchObject({hostName: 'real.example', port: 7777, user: 'canon'})
    expect(cfg.knownHostsFiles?.files).toEqual([join(dir, '.ssh', 'kh_final')])
    expect(cfg.files).toEqual([join(dir, '.ssh', 'config')])
    // Without a Match final line, no second pass: canonical alone does not apply.
    expect(resolve(dir, ['Match canonical', '  User canon'].join('\n'), 'box').user).toBeUndefined()
    // A ProxyCommand in a final block is refused like any other.
    expect(() => resolve(dir, ['Match final', '  ProxyCommand nc %h %p'].join('\n'), 'box')).toThrow(/sets ProxyCommand nc %h %p for box, which steme does not support/)
  })

  it('IdentityFile accumulates, with ~ and %-tokens expanded, and each keeps its line', () => {
    const dir = home()
    const cfg = resolve(dir, ['Host box', '  HostName box.example.com', '  User deploy', '  Port 2200', '  IdentityFile ~/.ssh/%h_%r_%p', 'Host *', '  IdentityFile %d/.ssh/id_%u'].join('\n'), 'box')
    expect(cfg.identityFiles).toEqual([
      {file: join(dir, '.ssh', 'box.example.com_deploy_2200'), from: {file: join(dir, '.ssh', 'config'), line: 5}},
      {file: join(dir, '.ssh', `id_${userInfo().username}`), from: {file: join(dir, '.ssh', 'config'), line: 7}},
    ])
  })

  it('${VAR} and %-tokens expand in one pass: a host or user from the URL is never read as ${VAR}', () => {
    const dir = home()
    const text = ['Host *', '  UserKnownHostsFile ${KH_DIR}/kh_%n', '  IdentityFile ~/.ssh/id_%r'].join('\n')
    writeFileSync(join(dir, '.ssh', 'config'), text)
    const env = {HOME: dir, STEME_SSH_SYSTEM_CONFIG: join(dir, 'no-system'), KH_DIR: join(dir, 'kh'), SECRET: 'the-secret'}
    const cfg = resolveHostConfig({env, alias: 'a${SECRET}b', user: 'u${SECRET}'})
    // The config's own ${KH_DIR} expands; what %n and %r put in stays as typed.
    expect(cfg.knownHostsFiles?.files).toEqual([join(dir, 'kh', 'kh_a${SECRET}b')])
    expect(cfg.identityFiles.map((i) => i.file)).toEqual([join(dir, '.ssh', 'id_u${SECRET}')])
    // Nor does a name that is not set make the config fail.
    expect(resolveHostConfig({env, alias: '${UNSET_VAR}'}).knownHostsFiles?.files).toEqual([join(dir, 'kh', 'kh_${UNSET_VAR}')])
  })

  it('Include (relative to ~/.ssh, wildcards in the name) and the system config after the user one', () => {
    const dir = home()
    mkdirSync(join(dir, '.ssh', 'conf.d'))
    writeFileSync(join(dir, '.ssh', 'conf.d', '10-box.conf'), 'Host box\n  HostName 10.0.0.5\n')
    writeFileSync(join(dir, 'system_config'), 'Host *\n  Port 2222\n  HostName ignored\n')
    const cfg = resolve(dir, 'Include conf.d/*.conf\n', 'box', {system: join(dir, 'system_config')})
    expect(cfg).toMatchObject({hostName: '10.0.0.5', port: 2222})
    expect(cfg.files).toEqual([join(dir, '.ssh', 'config'), join(dir, '.ssh', 'conf.d', '10-box.conf'), join(dir, 'system_config')])
  })

  it('Match host sees the HostName set before it; a bad value names its file and line', () => {
    const dir = home()
    const cfg = resolve(dir, ['Host box', '  HostName 10.0.0.5', 'Match host 10.0.0.*', '  User tenuser'].join('\n'), 'box')
    expect(cfg.user).toBe('tenuser')
    // %h and %% in HostName in one pass, as ssh -G gives it.
    expect(resolve(dir, ['Host box', '  HostName lit%%h.%h.ex'].join('\n'), 'box').hostName).toBe('lit%h.box.ex')
    expect(() => resolve(dir, ['Host box', '  ServerAliveInterval often'].join('\n'), 'box')).toThrow(`ServerAliveInterval often (${join(dir, '.ssh', 'config')} line 2) is not a whole number of seconds`)
    expect(() => resolve(dir, ['Host box', '  StrictHostKeyChecking maybe'].join('\n'), 'box')).toThrow(/StrictHostKeyChecking maybe \(.* line 2\) is not yes, accept-new, no or ask/)
    expect(() => resolve(dir, ['Host box', '  IdentityFile ~/.ssh/%z'].join('\n'), 'box')).toThrow(/does not know the token %z/)
  })

  it('ProxyJump: the first of ProxyJump and ProxyCommand wins; a ProxyCommand that applies is refused', () => {
    const dir = home()
    expect(resolve(dir, ['Host box', '  ProxyJump a,b:2222', '  ProxyCommand nc %h %p'].join('\n'), 'box').proxyJump?.hops).toEqual(['a', 'b:2222'])
    expect(resolve(dir, ['Host box', '  ProxyJump none', 'Host *', '  ProxyJump bastion'].join('\n'), 'box').proxyJump?.hops).toEqual([])
    expect(() => resolve(dir, ['Host box', '  ProxyCommand nc %h %p', '  ProxyJump a'].join('\n'), 'box')).toThrow(/line 2 sets ProxyCommand nc %h %p for box, which steme does not support/)
    // A block that does not apply is not this host's business.
    expect(resolve(dir, ['Host other', '  ProxyCommand nc %h %p'].join('\n'), 'box').hostName).toBe('box')
  })

  it('a config file others can write is refused, as OpenSSH refuses it: ~/.ssh/config and any Include; not one named by STEME_SSH_CONFIG', () => {
    const dir = home()
    const config = join(dir, '.ssh', 'config')
    writeFileSync(config, 'Host box\n  HostName 10.0.0.5\n')
    chmodSync(config, 0o666)
    expect(() => resolve(dir, 'Host box\n  HostName 10.0.0.5\n', 'box')).toThrow(`the SSH config file ${config} is writable by everyone (mode 0666)`)
    chmodSync(config, 0o644)
    expect(resolve(dir, 'Host box\n  HostName 10.0.0.5\n', 'box').hostName).toBe('10.0.0.5')
    // An Included file is checked wherever it is included from.
    const inc = join(dir, '.ssh', 'inc.conf')
    writeFileSync(inc, 'Host box\n  StrictHostKeyChecking no\n')
    chmodSync(inc, 0o646)
    expect(() => resolve(dir, 'Include inc.conf\n', 'box')).toThrow(`the SSH config file ${inc} is writable by everyone (mode 0646)`)
    const chosen = join(dir, 'chosen.conf')
    writeFileSync(chosen, 'Host box\n  Port 2200\n')
    chmodSync(chosen, 0o666)
    // Like ssh -F, a file named by STEME_SSH_CONFIG is not checked, but what it includes is.
    expect(resolveHostConfig({env: {HOME: dir, STEME_SSH_CONFIG: chosen}, alias: 'box'}).port).toBe(2200)
    writeFileSync(chosen, `Include ${inc}\n`)
    expect(() => resolveHostConfig({env: {HOME: dir, STEME_SSH_CONFIG: chosen}, alias: 'box'})).toThrow(/writable by everyone/)
    // The hint is the safe fix, never a wider permission.
    try {
      resolve(dir, 'Include inc.conf\n', 'box')
    } catch (e) {
      expect((e as {hint?: string}).hint).toBe(`check what it says, then take the write permission away from others: \`chmod go-w ${inc}\``)
    }
  })

  it.runIf(process.getuid?.() === 0)('a config file owned by another user, or writable by a group others are in, is refused, as OpenSSH refuses it', () => {
    const dir = home()
    const config = join(dir, '.ssh', 'config')
    writeFileSync(config, 'Host box\n  HostName 10.0.0.5\n')
    chmodSync(config, 0o664)
    // Group-writable, its group root's own (no other member in /etc/passwd or /etc/group): passes, as with Debian's ssh.
    chownSync(config, 0, 0)
    expect(resolve(dir, 'Host box\n  HostName 10.0.0.5\n', 'box').hostName).toBe('10.0.0.5')
    // A group others are in (nogroup: nobody's): refused.
    chownSync(config, 0, 65534)
    expect(() => resolve(dir, 'Host box\n  HostName 10.0.0.5\n', 'box')).toThrow(/writable by its group \(mode 0664\).*OpenSSH refuses it too/)
    chmodSync(config, 0o644)
    const inc = join(dir, '.ssh', 'other.conf')
    writeFileSync(inc, 'Host box\n  HostName evil.example\n')
    chmodSync(inc, 0o644)
    chownSync(inc, 65534, 65534)
    expect(() => resolve(dir, 'Include other.conf\n', 'box')).toThrow(`the SSH config file ${inc} is owned by another user (uid 65534), not by you or root`)
  })

  it('~otheruser is refused, not read as a path relative to where steme runs; ~ and ~me are the home', () => {
    const dir = home()
    const me = userInfo().username
    const config = join(dir, '.ssh', 'config')
    const cfg = resolve(dir, ['Host box', `  IdentityFile ~${me}/.ssh/id_box`, `  UserKnownHostsFile ~/.ssh/kh ~${me}/kh2`, `  GlobalKnownHostsFile ~${me}/gkh`].join('\n'), 'box')
    expect(cfg.identityFiles.map((i) => i.file)).toEqual([join(dir, '.ssh', 'id_box')])
    expect(cfg.knownHostsFiles?.files).toEqual([join(dir, '.ssh', 'kh'), join(dir, 'kh2')])
    expect(cfg.globalKnownHostsFiles).toEqual([join(dir, 'gkh')])
    // OpenSSH reads /home/ops/known_hosts here; steme would have read ./~ops/known_hosts.
    expect(() => resolve(dir, ['Host box', '  UserKnownHostsFile ~ops/known_hosts'].join('\n'), 'box')).toThrow(`UserKnownHostsFile ~ops/known_hosts (${config} line 2) names the home directory of the user ops, which steme does not look up`)
    expect(() => resolve(dir, ['Host box', '  IdentityFile ~ops/.ssh/id_ed25519'].join('\n'), 'box')).toThrow(/IdentityFile ~ops\/\.ssh\/id_ed25519 .* names the home directory of the user ops/)
    expect(() => resolve(dir, ['Host box', '  GlobalKnownHostsFile ~ops/kh'].join('\n'), 'box')).toThrow(/GlobalKnownHostsFile ~ops\/kh .* the user ops/)
    expect(() => resolve(dir, 'Include ~ops/shared.conf\n', 'box')).toThrow(`Include ~ops/shared.conf (${config} line 1) names the home directory of the user ops`)
  })
})
