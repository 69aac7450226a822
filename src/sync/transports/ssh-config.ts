/**
 * The user's OpenSSH client configuration (`~/.ssh/config`, then `/etc/ssh/ssh_config`), as it
 * applies to one host: the options steme's SSH transport honours, each with the file and line it
 * came from. Parsed by the `ssh-config` package; matched here, as OpenSSH does: `Host` patterns
 * against the name as typed, `Match` criteria in order, and the first value obtained for an option
 * wins (IdentityFile accumulates).
 */
import {closeSync, existsSync, fstatSync, openSync, readFileSync, readdirSync, statSync} from 'node:fs'
import {hostname, userInfo} from 'node:os'
import {basename, dirname, isAbsolute, join} from 'node:path'
import SSHConfig, {LineType, type Line} from 'ssh-config'
import {UserError} from '../../core/errors.js'
import {homeDir} from '../../home.js'

/** Where an option's value was written: a config file and line. */
export interface Origin {
  file: string
  line: number
}

export const at = (o: Origin) => `${o.file} line ${o.line}`

export type StrictHostKeyChecking = 'yes' | 'ask' | 'accept-new' | 'no'

export interface HostConfig {
  /** The name as typed (a Host alias, or a real host name). */
  alias: string
  /** The host to connect to: HostName, else the name as typed. */
  hostName: string
  user?: string
  port?: number
  identityFiles: {file: string; from: Origin}[]
  identitiesOnly?: boolean
  knownHostsFiles?: {files: string[]; from: Origin}
  /** GlobalKnownHostsFile (default /etc/ssh/ssh_known_hosts and ssh_known_hosts2): a key listed there is known, one marked @revoked refused; never written to. */
  globalKnownHostsFiles: string[]
  strictHostKeyChecking?: {value: StrictHostKeyChecking; from: Origin}
  hostKeyAlias?: string
  connectTimeoutMs?: number
  serverAliveIntervalMs?: number
  serverAliveCountMax?: number
  /** ProxyJump hops, in order (`none` gives an empty list). */
  proxyJump?: {hops: string[]; from: Origin}
  identityAgent?: string
  /** HashKnownHosts yes: record new host keys with the name hashed. */
  hashKnownHosts?: boolean
  /** Where HostName, User or Port came from, for messages. */
  from: Partial<Record<'hostName' | 'user' | 'port', Origin>>
  /** The config files read, in order. */
  files: string[]
}

interface Entry {
  param: string
  value: string[]
  from: Origin
}

/** The config files to read: STEME_SSH_CONFIG alone (like `ssh -F`; `none` reads none), else ~/.ssh/config and /etc/ssh/ssh_config. */
export function configFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const chosen = env.STEME_SSH_CONFIG
  if (chosen !== undefined && chosen !== '') return chosen === 'none' ? [] : [chosen]
  const home = homeDir(env)
  const files = home === undefined ? [] : [join(home, '.ssh', 'config')]
  files.push(env.STEME_SSH_SYSTEM_CONFIG ?? '/etc/ssh/ssh_config')
  return files
}

const lower = (s: string) => s.toLowerCase()

function globRe(pattern: string, ignoreCase = true): RegExp {
  return new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', ignoreCase ? 'i' : '')
}

/**
 * An OpenSSH pattern list (`a,b,!c`) against a name: a negated match vetoes. As in OpenSSH,
 * `Host` patterns and `Match user`/`localuser` are matched with case (`Host Prod` is not `prod`);
 * `Match host` and `originalhost` without (`ignoreCase`).
 */
export function matchPatterns(patterns: string[], name: string, ignoreCase = false): boolean {
  let hit = false
  for (const p of patterns.flatMap((v) => v.split(',')).filter(Boolean)) {
    if (p.startsWith('!')) {
      if (globRe(p.slice(1), ignoreCase).test(name)) return false
    } else if (globRe(p, ignoreCase).test(name)) hit = true
  }
  return hit
}

const values = (line: Line & {value?: unknown}): string[] => {
  const v = (line as {value: string | {val: string}[]}).value
  return Array.isArray(v) ? v.map((x) => x.val) : v === undefined || v === '' ? [] : [v]
}

/**
 * A config file that someone else could have written decides where steme connects and which
 * host keys it trusts: refused, as OpenSSH refuses it ("Bad owner or permissions") for
 * ~/.ssh/config and every Included file. Owned by the user or root, and writable by no one else.
 */
function refuseUnsafe(file: string, st: {uid: number; gid: number; mode: number}): void {
  const me = process.getuid?.()
  if (me === undefined) return
  const mode = `0${(st.mode & 0o777).toString(8)}`
  if (st.uid !== 0 && st.uid !== me) {
    throw new UserError(`the SSH config file ${file} is owned by another user (uid ${st.uid}), not by you or root, so it could say where steme connects and which host keys to trust; OpenSSH refuses it too ("Bad owner or permissions")`, {
      code: 'config',
      hint: `check what it says, then make it yours (\`chown ${me} ${file}\`), or point STEME_SSH_CONFIG at a config of your own`,
    })
  }
  // Group-writable passes where the group is the user's own (no one else in it), as Debian's and
  // Ubuntu's OpenSSH let it pass, for a umask of 002 with a group per user.
  if ((st.mode & 0o002) !== 0 || ((st.mode & 0o020) !== 0 && !privateGroup(st.gid, me, st.uid))) {
    throw new UserError(`the SSH config file ${file} is writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${mode}), so others could say where steme connects and which host keys to trust; OpenSSH refuses it too ("Bad owner or permissions")`, {
      code: 'config',
      hint: `check what it says, then take the write permission away from others: \`chmod go-w ${file}\``,
    })
  }
}

/**
 * Whether group `gid` has exactly one member, the user `me` (the file's owner `owner`): as Debian's
 * OpenSSH decides it, from the primary groups in /etc/passwd and the members in /etc/group. A group
 * those files do not describe is not taken as private.
 */
function privateGroup(gid: number, me: number, owner: number): boolean {
  let passwd: string[][]
  let group: string[] | undefined
  try {
    passwd = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'))
    group = readFileSync('/etc/group', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f.length >= 4 && Number(f[2]) === gid && f[2] !== '')
  } catch {
    return false
  }
  if (!group) return false
  let members = 0
  for (const f of passwd) {
    if (f.length < 4 || f[3] === '' || Number(f[3]) !== gid) continue
    members++
    if (Number(f[2]) !== me) return false
  }
  const listed = group[3].split(',').filter(Boolean)
  if (listed.length) {
    const ownerName = passwd.find((f) => f.length >= 4 && f[2] !== '' && Number(f[2]) === owner)?.[0]
    if (listed.length > 1 || listed[0] !== ownerName) return false
    members++
  }
  return members > 0
}

/** Parse one file into a flat list of directives with their lines; Host/Match open a block. */
function readEntries(file: string, checkPerm: boolean): Entry[] | undefined {
  let text: string
  let fd: number | undefined
  try {
    if (!existsSync(file) || statSync(file).isDirectory()) return undefined
    fd = openSync(file, 'r')
    // Checked on the file opened, so what is read is what was checked.
    if (checkPerm) refuseUnsafe(file, fstatSync(fd))
    text = readFileSync(fd, 'utf8')
  } catch (e) {
    if (e instanceof UserError) throw e
    throw new UserError(`cannot read the SSH config file ${file}: ${(e as Error).message}`, {code: 'config', hint: `make it readable, or point STEME_SSH_CONFIG at another file (\`none\` for no config)`})
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
  let parsed: SSHConfig
  try {
    parsed = SSHConfig.parse(text)
  } catch (e) {
    throw new UserError(`cannot parse the SSH config file ${file}: ${(e as Error).message}`, {code: 'config', hint: 'fix the quoting there (`ssh -G <host>` shows what OpenSSH makes of it)'})
  }
  const out: Entry[] = []
  let line = 1
  const count = (s: string) => (s.match(/\r\n|\r|\n/g) ?? []).length
  const walk = (lines: Line[]) => {
    for (const l of lines) {
      line += count(l.before)
      if (l.type === LineType.DIRECTIVE) {
        out.push({param: lower(l.param), value: values(l), from: {file, line}})
      }
      line += count(l.after)
      if ('config' in l && l.config) walk(l.config as unknown as Line[])
    }
  }
  walk(parsed as unknown as Line[])
  return out
}

export interface Context {
  env: NodeJS.ProcessEnv
  /** The name as typed. */
  alias: string
  /** The user from the URL, if any: it wins, and `Match user` sees it. */
  user?: string
  port?: number
}

/**
 * Expand a leading `~` (or `~user` naming the local user) to the home directory. `~otheruser`
 * is refused: OpenSSH reads that user's home there, and taken as written it would be a path
 * relative to the directory steme runs in, a file the config's author never meant (a known_hosts
 * that a checked-out repository could supply).
 */
export function expandTilde(value: string, from: Origin, home: string | undefined, localUser: string, option: string): string {
  const m = /^~([^/]*)(\/.*)?$/.exec(value)
  if (!m) return value
  if (m[1] !== '' && m[1] !== localUser) {
    throw new UserError(`${option} ${value} (${at(from)}) names the home directory of the user ${m[1]}, which steme does not look up`, {
      code: 'config',
      hint: `write the path in full (as \`ssh -G\` or \`echo ~${m[1]}\` shows the directory)`,
    })
  }
  if (home === undefined) throw new UserError(`${option} ${value} (${at(from)}) names the home directory, and there is none`, {code: 'config', hint: 'set HOME to your home directory'})
  return home + (m[2] ?? '')
}

/** Expand `~` and OpenSSH's %-tokens in a path-like value. */
export function expandPath(value: string, from: Origin, t: {home?: string; user: string; host: string; alias: string; port: number; remoteUser: string; env: NodeJS.ProcessEnv}, option: string): string {
  const v = expandTilde(value, from, t.home, t.user, option)
  // One pass over %-tokens and ${VAR} together, as OpenSSH expands them: what a token puts in (a
  // host or user name from the remote URL) is never read again as a ${VAR} to expand.
  return v.replace(/%(.)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, k: string | undefined, name: string | undefined) => {
    if (k === undefined) {
      const val = t.env[name!]
      if (val === undefined) throw new UserError(`${option} ${value} (${at(from)}): the environment variable ${name} is not set`, {code: 'config'})
      return val
    }
    switch (k) {
      case '%':
        return '%'
      case 'd':
        if (t.home === undefined) throw new UserError(`${option} ${value} (${at(from)}) names the home directory (%d), and there is none`, {code: 'config', hint: 'set HOME to your home directory'})
        return t.home
      case 'u':
        return t.user
      case 'h':
        return t.host
      case 'n':
        return t.alias
      case 'p':
        return String(t.port)
      case 'r':
        return t.remoteUser
      case 'i':
        return String(process.getuid?.() ?? '')
      case 'l':
        return hostname().split('.')[0]
      case 'L':
        return hostname()
      default:
        throw new UserError(`${option} ${value} (${at(from)}): steme does not know the token ${m}`, {code: 'config', hint: 'use %d (home), %u (local user), %h (host), %n (name as typed), %p (port), %r (remote user), %l, %L, %i or %%'})
    }
  })
}

const YES = ['yes', 'true']
const NO = ['no', 'false']

function flag(e: Entry, option: string): boolean {
  const v = lower(e.value[0] ?? '')
  if (YES.includes(v)) return true
  if (NO.includes(v)) return false
  throw new UserError(`${option} ${e.value.join(' ')} (${at(e.from)}) is not yes or no`, {code: 'config', hint: `write ${option} yes or ${option} no`})
}

function seconds(e: Entry, option: string): number {
  const v = e.value[0] ?? ''
  if (!/^\d+$/.test(v)) throw new UserError(`${option} ${e.value.join(' ')} (${at(e.from)}) is not a whole number of seconds`, {code: 'config', hint: `write e.g. ${option} 30`})
  return Number(v)
}

/** What steme cannot do that would change where or how it connects: refused, never ignored. */
const UNSUPPORTED: Record<string, string> = {
  proxycommand: 'steme runs no ProxyCommand: for a bastion use ProxyJump (steme opens the hops itself); for anything else (a VPN helper, a socket) make the host reachable directly',
  knownhostscommand: 'steme runs no KnownHostsCommand: put the host key in a known_hosts file (UserKnownHostsFile) instead',
}

/** The configuration for one host, from the config files in order. */
export function resolveHostConfig(ctx: Context, files = configFiles(ctx.env)): HostConfig {
  const home = homeDir(ctx.env)
  let localUser = ''
  try {
    localUser = userInfo().username
  } catch {
    localUser = ctx.env.USER ?? ''
  }
  const got = new Map<string, Entry>()
  const identities: Entry[] = []
  const first = (param: string) => got.get(param)
  const alias = ctx.alias

  const take = (e: Entry) => {
    if (e.param === 'identityfile') {
      identities.push(e)
      return
    }
    // ProxyJump and ProxyCommand exclude each other: the first one set wins, as in OpenSSH.
    if ((e.param === 'proxyjump' || e.param === 'proxycommand') && (got.has('proxyjump') || got.has('proxycommand'))) return
    if (!got.has(e.param)) got.set(e.param, e)
  }
  const hostNow = () => {
    const h = first('hostname')?.value[0]
    // One pass, as ssh expands it: `%%h` is a literal %h.
    return h === undefined ? alias : h.replace(/%([h%])/g, (m, k: string) => (k === 'h' ? alias : '%'))
  }
  const userNow = () => ctx.user ?? first('user')?.value[0] ?? localUser

  const read: string[] = []
  // A `Match final` line asks for a second pass over the config, as OpenSSH makes: `Host` lines
  // then match the HostName the first pass gave, `Match final` (and `canonical`) blocks apply, and
  // the values of the first pass still win.
  let wantFinal = false
  let final = false
  const process_ = (file: string, active: boolean, depth: number, base: string, checkPerm: boolean) => {
    const entries = readEntries(file, checkPerm)
    if (!entries) return
    if (!final) read.push(file)
    let on = active
    for (const e of entries) {
      if (e.param === 'host') {
        on = active && matchPatterns(e.value, final ? hostNow() : alias)
        continue
      }
      // The host name is settled by the first pass.
      if (final && e.param === 'hostname') continue
      if (e.param === 'match') {
        on = active && matchBlock(e)
        continue
      }
      if (e.param === 'include') {
        if (!on) continue
        if (depth >= 16) throw new UserError(`Include nested too deep at ${at(e.from)}`, {code: 'config'})
        for (const pattern of e.value) {
          // Every Included file is checked, whichever file includes it, as OpenSSH checks it.
          for (const f of includeFiles(pattern, e.from, base)) process_(f, on, depth + 1, base, true)
        }
        continue
      }
      if (on) take(e)
    }
  }
  const matchBlock = (e: Entry): boolean => {
    const v = e.value
    let result = true
    for (let i = 0; i < v.length; i++) {
      const key = lower(v[i])
      if (key === 'all') continue
      if (key === 'canonical' || key === 'final') {
        // Seen even after a failed criterion, as OpenSSH reads the whole line.
        if (key === 'final') wantFinal = true
        if (!final) result = false
        continue
      }
      const arg = v[++i]
      if (arg === undefined) throw new UserError(`Match ${key} without a value (${at(e.from)})`, {code: 'config', hint: 'give the criterion a pattern, as in `Match host *.example.com`'})
      // Later criteria are not evaluated once one fails, as OpenSSH skips an exec after a failed criterion.
      if (!result) continue
      let ok: boolean
      switch (key) {
        case 'host':
          ok = matchPatterns([arg], hostNow(), true)
          break
        case 'originalhost':
          ok = matchPatterns([arg], alias, true)
          break
        case 'user':
          ok = matchPatterns([arg], userNow())
          break
        case 'localuser':
          ok = matchPatterns([arg], localUser)
          break
        case 'exec':
          throw new UserError(`\`Match exec\` (${at(e.from)}) may apply to ${alias}, and steme runs no commands from the SSH config to decide`, {
            code: 'config',
            hint: `put the options for ${alias} in a \`Host ${alias}\` block before that line, or point STEME_SSH_CONFIG at a config without Match exec`,
          })
        default:
          throw new UserError(`\`Match ${v[i - 1]}\` (${at(e.from)}) is a criterion steme does not evaluate, and it may apply to ${alias}`, {
            code: 'config',
            hint: `put the options for ${alias} in a \`Host ${alias}\` block before that line, or use Match host/originalhost/user/localuser/all`,
          })
      }
      if (!ok) result = false
    }
    return result
  }
  const includeFiles = (pattern: string, from: Origin, base: string): string[] => {
    let p = pattern
    p = expandTilde(p, from, home, localUser, 'Include')
    if (!isAbsolute(p)) p = join(base, p)
    const dir = dirname(p)
    const name = basename(p)
    if (/[*?[]/.test(dir)) throw new UserError(`Include ${pattern} (${at(from)}): steme expands wildcards only in the file name, not in directories`, {code: 'config', hint: 'name the directory without wildcards'})
    if (!/[*?]/.test(name)) return [p]
    if (!existsSync(dir)) return []
    const re = globRe(name, false)
    return readdirSync(dir)
      .filter((f) => re.test(f))
      .sort()
      .map((f) => join(dir, f))
  }

  // A relative Include is resolved against ~/.ssh in a user config, /etc/ssh in the system one.
  const system = ctx.env.STEME_SSH_SYSTEM_CONFIG ?? '/etc/ssh/ssh_config'
  const base = (f: string) => (f === system || home === undefined ? dirname(f) : join(home, '.ssh'))
  // The user's own ~/.ssh/config is checked; a file named by STEME_SSH_CONFIG (like ssh -F) and
  // the system one are not, as OpenSSH does not check them.
  const userConfig = home === undefined || (ctx.env.STEME_SSH_CONFIG ?? '') !== '' ? undefined : join(home, '.ssh', 'config')
  for (const f of files) process_(f, true, 0, base(f), f === userConfig)
  if (wantFinal) {
    final = true
    for (const f of files) process_(f, true, 0, base(f), f === userConfig)
  }

  for (const [param, why] of Object.entries(UNSUPPORTED)) {
    const e = got.get(param)
    if (e && lower(e.value.join(' ')) !== 'none') {
      throw new UserError(`${e.from.file} line ${e.from.line} sets ${e.value.length ? `${capital(param)} ${e.value.join(' ')}` : capital(param)} for ${alias}, which steme does not support`, {code: 'config', hint: why})
    }
  }

  const hostName = hostNow()
  const portEntry = first('port')
  let port = ctx.port
  if (port === undefined && portEntry) {
    const n = Number(portEntry.value[0])
    if (!/^\d+$/.test(portEntry.value[0] ?? '') || n < 1 || n > 65535) throw new UserError(`Port ${portEntry.value.join(' ')} (${at(portEntry.from)}) is not a port number`, {code: 'config', hint: 'write a port from 1 to 65535'})
    port = n
  }
  const user = ctx.user ?? first('user')?.value[0]
  const tokens = {home, user: localUser, host: hostName, alias, port: port ?? 22, remoteUser: user ?? localUser, env: ctx.env}
  const gkhf = first('globalknownhostsfile')
  const globalKnownHostsFiles = gkhf
    ? gkhf.value.filter((v) => lower(v) !== 'none').map((v) => expandTilde(v, gkhf.from, home, localUser, 'GlobalKnownHostsFile'))
    : ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']
  const cfg: HostConfig = {alias, hostName, user, port, identityFiles: [], globalKnownHostsFiles, from: {}, files: read}
  if (first('hostname')) cfg.from.hostName = first('hostname')!.from
  if (ctx.user === undefined && first('user')) cfg.from.user = first('user')!.from
  if (ctx.port === undefined && portEntry) cfg.from.port = portEntry.from
  for (const e of identities) {
    for (const v of e.value) cfg.identityFiles.push({file: expandPath(v, e.from, tokens, 'IdentityFile'), from: e.from})
  }
  const only = first('identitiesonly')
  if (only) cfg.identitiesOnly = flag(only, 'IdentitiesOnly')
  const khf = first('userknownhostsfile')
  if (khf) cfg.knownHostsFiles = {files: khf.value.filter((v) => lower(v) !== 'none').map((v) => expandPath(v, khf.from, tokens, 'UserKnownHostsFile')), from: khf.from}
  const strict = first('stricthostkeychecking')
  if (strict) {
    const v = lower(strict.value[0] ?? '')
    const value: StrictHostKeyChecking | undefined = YES.includes(v) ? 'yes' : NO.includes(v) || v === 'off' ? 'no' : v === 'ask' ? 'ask' : v === 'accept-new' ? 'accept-new' : undefined
    if (!value) throw new UserError(`StrictHostKeyChecking ${strict.value.join(' ')} (${at(strict.from)}) is not yes, accept-new, no or ask`, {code: 'config', hint: 'write StrictHostKeyChecking yes (or accept-new to record a new host key)'})
    cfg.strictHostKeyChecking = {value, from: strict.from}
  }
  const alias_ = first('hostkeyalias')
  if (alias_) cfg.hostKeyAlias = alias_.value[0]
  const ct = first('connecttimeout')
  if (ct && lower(ct.value[0] ?? '') !== 'none') cfg.connectTimeoutMs = seconds(ct, 'ConnectTimeout') * 1000 || undefined
  const sai = first('serveraliveinterval')
  if (sai) cfg.serverAliveIntervalMs = seconds(sai, 'ServerAliveInterval') * 1000
  const sacm = first('serveralivecountmax')
  if (sacm) cfg.serverAliveCountMax = seconds(sacm, 'ServerAliveCountMax')
  const pj = first('proxyjump')
  if (pj) cfg.proxyJump = {hops: lower(pj.value.join(',')) === 'none' ? [] : pj.value.flatMap((v) => v.split(',')).filter(Boolean), from: pj.from}
  const hash = first('hashknownhosts')
  if (hash) cfg.hashKnownHosts = flag(hash, 'HashKnownHosts')
  const agent = first('identityagent')
  if (agent) {
    const v = agent.value[0] ?? ''
    cfg.identityAgent = v === 'SSH_AUTH_SOCK' ? (ctx.env.SSH_AUTH_SOCK ?? '') : lower(v) === 'none' ? 'none' : v.startsWith('$') ? (ctx.env[v.slice(1)] ?? '') : expandPath(v, agent.from, tokens, 'IdentityAgent')
  }
  return cfg
}

const capital = (param: string) => ({proxycommand: 'ProxyCommand', knownhostscommand: 'KnownHostsCommand'})[param] ?? param

/** A ProxyJump hop (`[user@]host[:port]` or `ssh://[user@]host[:port]`) split into its parts. */
export function parseHop(hop: string, from: Origin): {user?: string; host: string; port?: number} {
  const m = /^(?:ssh:\/\/)?(?:([^@]+)@)?(\[[^\]]+\]|[^:@/[\]]+)(?::(\d+))?\/?$/.exec(hop)
  if (!m) throw new UserError(`ProxyJump ${hop} (${at(from)}) is not [user@]host[:port]`, {code: 'config', hint: 'write the jump hosts as ProxyJump [user@]host[:port][,...]'})
  const port = m[3] === undefined ? undefined : Number(m[3])
  if (port !== undefined && (port < 1 || port > 65535)) throw new UserError(`ProxyJump ${hop} (${at(from)}) has no valid port`, {code: 'config'})
  return {user: m[1], host: m[2].replace(/^\[|\]$/g, ''), port}
}
