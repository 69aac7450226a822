/** The SSH transport: runs `steme sync-serve --stdio` on the remote over an exec channel, as git runs upload-pack. */
import {closeSync, existsSync, fstatSync, openSync, readFileSync} from 'node:fs'
import {userInfo} from 'node:os'
import {join} from 'node:path'
import type {Duplex} from 'node:stream'
import ssh2, {Client, type AnyAuthMethod, type ClientChannel} from 'ssh2'
import {heldByDaemon, remoteHint, remoteStoreCode} from '../remote-errors.js'
import {UserError} from '../../core/errors.js'
import {homeDir, whyNoHome} from '../../home.js'
import {TransientError, type Transport} from '../../core/transport.js'
import {FramingError, MessageReader, frameMessage} from '../framing.js'
import {IDLE_EXIT} from '../stdio-server.js'
import {addHostKeyAs, checkHostKeyAs, hostEntryName, keyFingerprint, keyType, type HostKeyVerdict} from './known-hosts.js'
import {at, configFiles, parseHop, resolveHostConfig, type Origin} from './ssh-config.js'

export interface SshTarget {
  /** The user in the URL; without one, the SSH config's User, else the local user name. */
  user?: string
  /** The host as typed: a real host name, or a Host alias of the SSH config. */
  host: string
  /** The port in the URL; without one, the SSH config's Port, else 22. */
  port?: number
  /** The store path on the remote. */
  path: string
}

export interface SshOptions {
  /** Trust and record an unknown (or changed) host key. */
  acceptHostKey?: boolean
  /** How to start steme on the remote (default `steme`), like git's --upload-pack. */
  remoteCmd?: string
  knownHosts?: string
  /** Private key files to try after the agent (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa). */
  identities?: string[]
  agent?: string
  connectTimeoutMs?: number
  /** How long to wait for the answer to one request (default 120 s). */
  requestTimeoutMs?: number
  /**
   * Keepalive interval (default 15 s): when KEEPALIVE_COUNT_MAX in a row go unanswered, the
   * connection is given up as lost (and the request retried on a new one), as a network outage
   * leaves it open but silent: about a minute with the defaults, instead of TCP's hours.
   */
  keepaliveMs?: number
  env?: NodeJS.ProcessEnv
  /** Told when an unknown host key was accepted and recorded. */
  onNote?: (text: string) => void
}

/** SSH keepalives sent unanswered before the connection is given up as lost (OpenSSH's ServerAliveCountMax). */
export const KEEPALIVE_COUNT_MAX = 3

const quote = (s: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

export function remoteCommand(target: SshTarget, remoteCmd = 'steme'): string {
  return `${remoteCmd} sync-serve --stdio --store ${quote(target.path)}`
}

export function openSshTransport(remote: string, target: SshTarget, opts: SshOptions = {}): Transport {
  const env = opts.env ?? process.env
  const home = homeDir(env)
  // Without a home there is no ~/.ssh: said when connecting, never read from a relative .ssh/ here.
  const noHome = () =>
    new UserError(`remote ${remote}: there is no home directory to find ~/.ssh/known_hosts and SSH keys in (${whyNoHome(env)})`, {
      code: 'config',
      hint: 'set HOME to your home directory',
    })
  // The target as ~/.ssh/config describes it (a user or port in the URL wins), and the jump
  // hosts of its ProxyJump, each with its own configuration.
  const files = configFiles(env)
  const ep = endpoint(target.host, target.user, target.port, files, env, home, opts, '')
  const jumps = jumpChain(ep, files, env, home, opts)
  const knownHosts = ep.knownHosts[0] ?? ''
  const where = ep.where
  const timeoutMs = opts.requestTimeoutMs ?? 120_000
  const keepaliveMs = ep.keepaliveMs
  let conn: Client | undefined
  let hopConns: Client[] = []
  let channel: ClientChannel | undefined
  let reader: MessageReader | undefined
  let waiting: {resolve: (m: Uint8Array) => void; reject: (e: Error) => void; progress: () => void} | undefined
  let queue: Uint8Array[] = []
  let stderr = ''
  let hostKeyError: UserError | undefined
  // Once the remote has answered a request, a connection that cannot be made again means the
  // host or its sshd went away mid-sync (a restart, a network outage): worth retrying, unlike an
  // address where nothing ever answered. A refused login or host key is never retried.
  let answered = false

  // Connections that logged in are ended politely (an SSH disconnect, then FIN). One still in
  // its handshake is destroyed: end() only half-closes it, and a host that never answers (nor
  // reads) would keep it, and its file descriptor, open for as long as steme runs.
  const loggedIn = new WeakSet<Client>()
  const letGo = (c: Client | undefined) => {
    if (c === undefined) return
    if (loggedIn.has(c)) c.end()
    else c.destroy()
  }
  const endHops = () => {
    for (const h of hopConns) letGo(h)
    hopConns = []
  }
  const fail = (e: Error) => {
    const w = waiting
    waiting = undefined
    channel = undefined
    letGo(conn)
    conn = undefined
    endHops()
    w?.reject(e)
  }

  // Key files that could not be offered, with why: said when no key logs in.
  let unusable: Unusable[] = []
  const unusableNote = () => noteOf(unusable)
  const unusableHint = () => hintOf(unusable)

  /** Log in to one jump host, over the stream of the hop before it. */
  const dialHop = (hop: Endpoint, sock: Duplex | undefined) =>
    new Promise<Client>((resolve, reject) => {
      let keyError: UserError | undefined
      let hopUnusable: Unusable[] = []
      let methods: AnyAuthMethod[]
      try {
        ;({methods, unusable: hopUnusable} = authFor(remote, hop))
      } catch (e) {
        reject(e)
        return
      }
      if (methods.length === 0) {
        reject(noKeyError(remote, hop, hopUnusable))
        return
      }
      const c = new Client()
      hopConns.push(c)
      c.once('ready', () => {
        loggedIn.add(c)
        resolve(c)
      })
      // Ended before it logged in (close() or fail() while the hop's handshake was under way):
      // settled, so a request waiting for this connection is not left waiting for ever.
      c.once('close', () => reject(keyError ?? new TransientError(`remote ${remote}: the SSH connection to ${hop.where} closed before it logged in`)))
      c.on('error', (e: Error & {code?: string; level?: string}) => {
        reject(keyError ?? connectError(remote, hop.where, e, answered ? 'answered' : 'never', hop.keepaliveMs, hopUnusable.length ? {note: noteOf(hopUnusable), hint: hintOf(hopUnusable)} : undefined, hop.keepaliveCountMax))
      })
      c.connect({
        ...(sock ? {sock} : {host: hop.host, port: hop.port}),
        username: hop.user,
        readyTimeout: hop.readyTimeoutMs,
        keepaliveInterval: hop.keepaliveMs,
        keepaliveCountMax: hop.keepaliveCountMax,
        authHandler: methods,
        hostVerifier: verifier(remote, hop, opts, (e) => (keyError = e)),
      })
    })
  /** Through each jump host in turn, a stream to the target's sshd. */
  const openJumps = async (): Promise<Duplex | undefined> => {
    let sock: Duplex | undefined
    for (let i = 0; i < jumps.length; i++) {
      const c = await dialHop(jumps[i], sock)
      const next = jumps[i + 1] ?? ep
      sock = await new Promise<Duplex>((resolve, reject) => {
        // The jump host answers only once its own connection to the next host is made, which a
        // host that drops packets holds up for minutes (the kernel's SYN retries): bounded by the
        // next host's ConnectTimeout, as ssh bounds a connection made through a ProxyJump.
        let settled = false
        const timer = setTimeout(() => {
          settled = true
          const secs = Math.round(next.readyTimeoutMs / 100) / 10
          const e = Object.assign(new Error(`${jumps[i].where} opened no connection to it in ${secs} s`), {level: 'client-timeout'})
          reject(connectError(remote, next.where, e, answered ? 'answered' : 'never', next.keepaliveMs, undefined, next.keepaliveCountMax))
        }, next.readyTimeoutMs)
        c.forwardOut('127.0.0.1', 0, next.host, next.port, (err, stream) => {
          clearTimeout(timer)
          if (settled) {
            // Too late: the attempt was given up.
            stream?.destroy()
            return
          }
          settled = true
          if (err) {
            reject(
              new UserError(`remote ${remote}: the jump host ${jumps[i].where} would not forward a connection to ${next.host} port ${next.port}: ${err.message}`, {
                code: 'remote',
                exit: 1,
                hint: `check that ${next.host} port ${next.port} is reachable from ${jumps[i].host}, and that its sshd allows forwarding (AllowTcpForwarding)`,
              }),
            )
          } else resolve(stream)
        })
      })
    }
    return sock
  }

  const connect = () =>
    new Promise<void>((resolve, reject) => {
      if (knownHosts === '' && home === undefined) {
        reject(noHome())
        return
      }
      let methods: AnyAuthMethod[]
      try {
        ;({methods, unusable} = authFor(remote, ep))
      } catch (e) {
        reject(e)
        return
      }
      if (methods.length === 0) {
        reject(noKeyError(remote, ep, unusable))
        return
      }
      const c = new Client()
      conn = c
      hostKeyError = undefined
      stderr = ''
      // Logged in: a failure from here on is the connection dropping, not a wrong address.
      let ready = false
      c.on('ready', () => {
        ready = true
        loggedIn.add(c)
        c.exec(remoteCommand(target, opts.remoteCmd), (err, ch) => {
          if (err) return reject(new UserError(`remote ${remote}: cannot start steme on ${where}: ${err.message}`, {code: 'remote', exit: 1}))
          channel = ch
          reader = new MessageReader(true)
          ch.on('data', (chunk: Buffer) => {
            waiting?.progress()
            let msgs: Uint8Array[]
            try {
              msgs = reader!.push(chunk)
            } catch (e) {
              if (e instanceof FramingError) fail(new UserError(`remote ${remote}: ${where} did not answer as steme sync-serve (${e.message})`, {code: 'remote', exit: 1, hint: `check that \`${opts.remoteCmd ?? 'steme'}\` runs steme on the remote, or set the command with --remote-cmd`}))
              return
            }
            for (const m of msgs) {
              queue.push(m)
              const w = waiting
              if (w) {
                waiting = undefined
                w.resolve(queue.shift()!)
              }
            }
          })
          ch.stderr.on('data', (d: Buffer) => {
            stderr = (stderr + d.toString()).slice(-4000)
          })
          ch.on('close', (code: number | null, signal?: string) => {
            // A channel already given up (fail() dropped it, a new one may be up): nothing to do.
            if (channel !== ch) return
            channel = undefined
            if (!waiting) {
              // The remote steme ended between requests (its idle timeout, a kill): the next
              // request starts it again on a new connection, so this one is ended, not left open;
              // so are the jump hosts it went through, which the next connection dials again.
              if (conn === c) conn = undefined
              c.end()
              endHops()
              return
            }
            fail(exitError(remote, where, {code, signal, stderr, remoteCmd: opts.remoteCmd, started: reader?.started ?? false, answered}))
          })
          resolve()
        })
      })
      c.on('error', (e: Error & {code?: string; level?: string}) => {
        const err = hostKeyError ?? connectError(remote, where, e, ready ? 'up' : answered ? 'answered' : 'never', keepaliveMs, unusable.length ? {note: unusableNote(), hint: unusableHint()} : undefined, ep.keepaliveCountMax)
        reject(err)
        // A connection already given up: its late errors must not fail the request of a new one.
        if (conn === c) fail(err)
      })
      c.on('close', () => {
        if (conn !== c) return
        if (waiting) fail(new TransientError(`remote ${remote}: the SSH connection to ${where} closed`))
        conn = undefined
        channel = undefined
        endHops()
      })
      const start = (sock: Duplex | undefined) => {
        // The jump hosts went while this connection was being opened (close() or fail()): the
        // stream through them is let go, and whoever waits for this connection told.
        if (conn !== c) {
          sock?.destroy()
          reject(new TransientError(`remote ${remote}: the SSH connection to ${where} was closed while it was being opened`))
          return
        }
        c.connect({
          ...(sock ? {sock} : {host: ep.host, port: ep.port}),
          username: ep.user,
          readyTimeout: ep.readyTimeoutMs,
          keepaliveInterval: keepaliveMs,
          keepaliveCountMax: ep.keepaliveCountMax,
          authHandler: methods,
          hostVerifier: verifier(remote, ep, opts, (e) => (hostKeyError = e)),
        })
      }
      if (jumps.length === 0) start(undefined)
      else
        openJumps().then(start, (e: Error) => {
          reject(e)
          if (conn === c) fail(e)
        })
    })

  // One connection attempt at a time, shared by an early connect() and the request that
  // follows. An early attempt that fails before any request awaits it hands its error to the
  // next request (which the retry policy then judges), instead of being tried again unseen.
  let connecting: {p: Promise<void>; claimed: boolean} | undefined
  let earlyFailure: {error: unknown} | undefined
  const open = () => {
    if (channel || connecting) return
    queue = []
    const attempt = {p: connect(), claimed: false}
    connecting = attempt
    attempt.p.then(
      () => {
        if (connecting === attempt) connecting = undefined
      },
      (error: unknown) => {
        if (connecting === attempt) connecting = undefined
        if (!attempt.claimed) earlyFailure = {error}
      },
    )
  }

  // No answer in time. A remote steme says `steme-sync/1` as soon as it starts, before it opens
  // (or waits for) its store: a command that never said it, in a sync nothing has answered yet,
  // is not steme or hangs before serving, and a retry would only start another one to wait for.
  const silence = (): Error => {
    const secs = Math.round(timeoutMs / 1000)
    if (!answered && reader && !reader.started) {
      const cmd = opts.remoteCmd ?? 'steme'
      return new UserError(`remote ${remote}: \`${cmd}\` on ${where} started but sent nothing in ${secs} s: it is not steme sync-serve, or it hangs before serving`, {
        code: 'remote',
        exit: 1,
        hint: `check that \`ssh ${target.port === undefined ? '' : `-p ${target.port} `}${target.user === undefined ? '' : `${target.user}@`}${target.host} ${cmd} --version\` prints steme's version, or set the command with --remote-cmd`,
      })
    }
    return new TransientError(`remote ${remote}: no answer from ${where} in ${secs} s`)
  }

  return {
    remote,
    connect: open,
    async request(message) {
      if (!channel) {
        if (earlyFailure) {
          const {error} = earlyFailure
          earlyFailure = undefined
          throw error
        }
        open()
        const attempt = connecting
        if (attempt) {
          attempt.claimed = true
          await attempt.p
        }
      }
      return new Promise<Uint8Array>((resolve, reject) => {
        // A remote that stops answering is treated like a dropped connection: retried on a new one.
        // Each byte of the answer restarts the wait, so a large answer over a slow link (16 MiB take
        // over two minutes below 1.1 Mbit/s) is not taken for a remote that stopped.
        let timer: NodeJS.Timeout | undefined
        const arm = () => {
          clearTimeout(timer)
          timer = setTimeout(() => fail(silence()), timeoutMs)
        }
        arm()
        waiting = {
          resolve: (m) => (clearTimeout(timer), (answered = true), resolve(m)),
          reject: (e) => (clearTimeout(timer), reject(e)),
          progress: arm,
        }
        channel!.write(frameMessage(message))
      })
    },
    async close() {
      earlyFailure = undefined
      const ch = channel
      channel = undefined
      if (ch) ch.end()
      letGo(conn)
      conn = undefined
      endHops()
    },
  }
}

const PASSPHRASE = 'is protected by a passphrase, which steme cannot ask for'
const UNPROTECTED = 'is readable by others'

/** Why a key file cannot be offered (a passphrase, a public key, not a key), or undefined when it can. */
function unusableKey(key: Buffer): string | undefined {
  const parsed = ssh2.utils.parseKey(key)
  if (parsed instanceof Error) return /encrypted|passphrase/i.test(parsed.message) ? PASSPHRASE : `is not a private key steme can read (${parsed.message})`
  const first = Array.isArray(parsed) ? parsed[0] : parsed
  return first && !first.isPrivateKey() ? 'is a public key, not a private one' : undefined
}

/**
 * Why the remote steme's channel closed while a request waited. `started`: it had sent the
 * preamble; `answered`: a remote steme had answered a request of this sync.
 */
function exitError(remote: string, where: string, x: {code: number | null; signal?: string; stderr: string; remoteCmd?: string; started: boolean; answered: boolean}): Error {
  const {code, signal, stderr, remoteCmd} = x
  const tail = stderr.trim().split('\n').slice(-3).join(' / ')
  if (code === 127) {
    return new UserError(`remote ${remote}: \`${remoteCmd ?? 'steme'}\` was not found on ${where}${tail ? ` (${tail})` : ''}`, {
      code: 'remote',
      exit: 1,
      hint: 'install steme on the remote (on its PATH for non-interactive shells), or give the command with --remote-cmd, e.g. --remote-cmd "node /opt/steme/bin/run.js"',
    })
  }
  if (code !== null && code !== 0 && tail) {
    // The remote steme's own error: its message, without its hint (written for someone at that
    // end, about --store and STEME_STORE there); ours, for the remote's store, instead.
    const lines = stderr.trim().split('\n')
    const error = lines.filter((l) => l.startsWith('error: ')).pop()?.slice('error: '.length)
    const store = remoteStoreCode(stderr)
    const what = store === 'integrity' && error ? error.replace(/^the store file is damaged/, 'its store file is damaged') : (error ?? tail)
    // Busy on a reconnect mid-sync, after the remote steme waited for the store (an older one
    // does not): held by another command there, or by an older steme of the connection just
    // lost, which lets go only once its sshd notices or its idle timeout ends it. Worth retrying.
    if (store === 'locked' && x.answered && !heldByDaemon(stderr)) {
      return new TransientError(`remote ${remote}: the remote store is still held by another steme process (${what})`)
    }
    // The remote steme gave up waiting (its idle timeout) as this request left, or while this
    // client was held up: the request goes again, to a new one.
    if (IDLE_EXIT.test(stderr)) return new TransientError(`remote ${remote}: the remote steme on ${where} had stopped waiting for this client (${what})`)
    // A store written by a newer steme than the remote one: the remote steme is what to upgrade.
    const newer = /has schema version \d+, newer than this steme understands/.test(stderr)
    return new UserError(`remote ${remote}: steme on ${where} failed: ${what}`, {
      code: store ?? 'remote',
      // A remote path that names no store is the remote's configuration to fix, as for a path remote.
      exit: store === 'no_store' ? 2 : 1,
      hint: newer
        ? `upgrade steme on ${where} (the one \`${remoteCmd ?? 'steme'}\` runs there): a newer steme wrote that store`
        : ((store && remoteHint(store, stderr)) ?? 'the remote path must be a steme store (run `steme init` there), and the remote steme the same version'),
    })
  }
  if (!x.started && code !== null) {
    // It ended without ever saying it was steme (`false`, `true`, a wrapper that exits): not
    // something a retry fixes.
    return new UserError(`remote ${remote}: \`${remoteCmd ?? 'steme'}\` on ${where} exited with code ${code} without answering as steme sync-serve`, {
      code: 'remote',
      exit: 1,
      hint: `check that \`${remoteCmd ?? 'steme'}\` runs steme on the remote, or set the command with --remote-cmd`,
    })
  }
  const how = signal ? `the remote steme was killed by ${signal.startsWith('SIG') ? signal : `SIG${signal}`}` : `exit ${code ?? 'unknown'}`
  return new TransientError(`remote ${remote}: the channel to ${where} closed (${how})${tail ? `: ${tail}` : ''}`)
}

/**
 * A failed or dropped SSH connection. When this connection had logged in (`up`), or an earlier
 * one had answered a request (`answered`), an unreachable host or a timeout means the remote
 * went away mid-sync (a restart, a network outage), and is retried; before that (`never`), it
 * means a wrong address. A refused login is never retried.
 */
function connectError(remote: string, where: string, e: Error & {code?: string; level?: string}, seen: 'up' | 'answered' | 'never', keepaliveMs: number, unusable?: {note: string; hint: string}, countMax = KEEPALIVE_COUNT_MAX): Error {
  if (e.level === 'client-authentication') {
    return new UserError(`remote ${remote}: ${where} refused every key offered (${e.message})${unusable ? `; not offered: ${unusable.note}` : ''}`, {
      code: 'unauthorized',
      exit: 1,
      hint: unusable ? `${unusable.hint}; or add your public key to ~/.ssh/authorized_keys on the remote` : 'add your public key to ~/.ssh/authorized_keys on the remote, load the right key with `ssh-add`, or pass --identity',
    })
  }
  if (e.level === 'client-timeout' && seen === 'up' && e.message === 'Keepalive timeout') {
    const secs = Math.round(((countMax + 1) * keepaliveMs) / 100) / 10
    return new TransientError(`remote ${remote}: the SSH connection to ${where} was lost: ${countMax} keepalives went unanswered in ${secs} s (the network or the host went away)`, {cause: e})
  }
  const unreachable = e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || e.level === 'client-timeout' || e.code === 'ETIMEDOUT'
  if (unreachable && seen === 'up') return new TransientError(`remote ${remote}: the SSH connection to ${where} was lost (${e.code ?? e.message})`, {cause: e})
  if (unreachable && seen === 'answered') return new TransientError(`remote ${remote}: cannot reach ${where} again (${e.code ?? e.message})`, {cause: e})
  if (unreachable) {
    return new UserError(`remote ${remote}: cannot reach ${where} (${e.code ?? e.message})`, {code: 'remote', exit: 1, hint: 'check the host name and port in the remote URL (`steme remote list`) and in ~/.ssh/config if it names that host, and that sshd runs there'})
  }
  return new TransientError(`remote ${remote}: SSH to ${where} failed: ${e.message}`, {cause: e})
}

/** One SSH server to log in to, the target or a jump host, as its configuration resolves it. */
interface Endpoint {
  /** The name as typed (an alias in the SSH config, or a real host name). */
  alias: string
  host: string
  port: number
  user: string
  /** How it is named in messages: user@host[:port], with the alias when the config renamed it, and `jump host` for a hop. */
  where: string
  /** Key files to try, with where each was named (a config file line, or --identity). */
  identities: {file: string; from?: Origin}[]
  /** Whether the files were given explicitly (--identity): then one that cannot be read is an error at once. */
  explicit: boolean
  /** Offer ssh-agent's keys (not with IdentitiesOnly yes, nor IdentityAgent none). */
  agent?: string
  /** The user's known_hosts files to check, the first the one new keys are recorded in. */
  knownHosts: string[]
  /**
   * The system's known_hosts files (GlobalKnownHostsFile), where an administrator hands out the
   * servers' keys: a key listed there is known and one marked @revoked refused, as in the user's
   * files; nothing is ever written to them.
   */
  systemKnownHosts: string[]
  /** The name looked up in known_hosts: HostKeyAlias, else `host` or `[host]:port`. */
  keyName: string
  /** StrictHostKeyChecking accept-new (or no): an unknown host key is recorded, with the line that said so. */
  acceptNew?: Origin
  /** HashKnownHosts yes: a recorded key's name is hashed. */
  hashKnownHosts: boolean
  readyTimeoutMs: number
  keepaliveMs: number
  keepaliveCountMax: number
  /** ProxyJump hops and where they were set. */
  proxyJump?: {hops: string[]; from: Origin}
  /** The config files read. */
  files: string[]
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa']

function endpoint(alias: string, urlUser: string | undefined, urlPort: number | undefined, files: string[], env: NodeJS.ProcessEnv, home: string | undefined, opts: SshOptions, role: '' | 'jump host '): Endpoint {
  const cfg = resolveHostConfig({env, alias, user: urlUser, port: urlPort}, files)
  let localUser = ''
  try {
    localUser = userInfo().username
  } catch {
    localUser = env.USER ?? ''
  }
  const port = cfg.port ?? 22
  const user = cfg.user ?? localUser
  const target = role === ''
  const renamed = cfg.hostName !== alias || cfg.from.port !== undefined || cfg.from.user !== undefined
  const where = `${role}${user}@${hostEntryName(cfg.hostName, port)}${renamed ? ` (${alias} in ${cfg.from.hostName?.file ?? cfg.from.port?.file ?? cfg.from.user?.file})` : ''}`
  const explicit = target && opts.identities !== undefined
  let identities: {file: string; from?: Origin}[]
  if (explicit) identities = opts.identities!.map((file) => ({file}))
  else if (cfg.identityFiles.length) identities = cfg.identityFiles
  // OpenSSH tries its default key files only when no IdentityFile applies.
  else identities = home === undefined ? [] : DEFAULT_KEYS.map((f) => ({file: join(home, '.ssh', f)}))
  const agent = cfg.identitiesOnly || cfg.identityAgent === 'none' ? undefined : (opts.agent ?? cfg.identityAgent ?? env.SSH_AUTH_SOCK)
  const knownHosts = target && opts.knownHosts !== undefined ? [opts.knownHosts] : (cfg.knownHostsFiles?.files ?? (home === undefined ? [] : [join(home, '.ssh', 'known_hosts'), join(home, '.ssh', 'known_hosts2')]))
  const strict = cfg.strictHostKeyChecking
  return {
    alias,
    host: cfg.hostName,
    port,
    user,
    where,
    identities,
    explicit,
    agent: agent || undefined,
    knownHosts,
    systemKnownHosts: cfg.globalKnownHostsFiles,
    // Lowercased, as ssh looks names up (and hashes them) in known_hosts: a hashed or @revoked
    // line written for `mybox` is the one for `MyBox`.
    keyName: (cfg.hostKeyAlias ?? hostEntryName(cfg.hostName, port)).toLowerCase(),
    hashKnownHosts: cfg.hashKnownHosts ?? false,
    acceptNew: strict && (strict.value === 'accept-new' || strict.value === 'no') ? strict.from : undefined,
    readyTimeoutMs: (target ? opts.connectTimeoutMs : undefined) ?? cfg.connectTimeoutMs ?? 20_000,
    keepaliveMs: (target ? opts.keepaliveMs : undefined) ?? cfg.serverAliveIntervalMs ?? 15_000,
    keepaliveCountMax: cfg.serverAliveCountMax ?? KEEPALIVE_COUNT_MAX,
    proxyJump: cfg.proxyJump,
    files: cfg.files,
  }
}

/**
 * The jump hosts to pass through to reach `ep`, in order. As `ssh -J a,b` does: the first hop's
 * own ProxyJump applies (it is reached as ssh would reach it), the later hops' do not (each is
 * reached through the one before).
 */
function jumpChain(ep: Endpoint, files: string[], env: NodeJS.ProcessEnv, home: string | undefined, opts: SshOptions, seen: string[] = []): Endpoint[] {
  if (!ep.proxyJump || ep.proxyJump.hops.length === 0) return []
  const {hops, from} = ep.proxyJump
  if (seen.includes(ep.alias) || seen.length > 8) {
    throw new UserError(`ProxyJump (${at(from)}) loops: ${[...seen, ep.alias].join(' -> ')}`, {code: 'config', hint: 'set ProxyJump none in the jump host\'s own Host block'})
  }
  const out: Endpoint[] = []
  hops.forEach((hop, i) => {
    const h = parseHop(hop, from)
    const e = endpoint(h.host, h.user, h.port, files, env, home, opts, 'jump host ')
    if (i === 0) out.push(...jumpChain(e, files, env, home, opts, [...seen, ep.alias]))
    out.push(e)
  })
  return out
}

interface Unusable {
  file: string
  why: string
  from?: Origin
}

const noteOf = (u: Unusable[]) => u.map((x) => `${x.file}${x.from ? ` (IdentityFile, ${at(x.from)})` : ''} ${x.why}`).join('; ')
const hintOf = (u: Unusable[]) => {
  const locked = u.find((x) => x.why === PASSPHRASE)
  if (locked) return `load a key with a passphrase into ssh-agent (\`eval "$(ssh-agent)"; ssh-add ${locked.file}\`), or pass --identity with a key that has none`
  const open = u.find((x) => x.why.startsWith(UNPROTECTED))
  if (open) return `make it readable by you alone: \`chmod 600 ${open.file}\``
  const cfg = u.find((x) => x.from)
  return cfg ? `fix IdentityFile at ${at(cfg.from!)}, or pass --identity with a private key file` : 'pass --identity with a private key file'
}

/** The ways to log in to one endpoint: ssh-agent's keys, then its key files (those that cannot be offered, with why). */
function authFor(remote: string, ep: Endpoint): {methods: AnyAuthMethod[]; unusable: Unusable[]} {
  const methods: AnyAuthMethod[] = []
  const unusable: Unusable[] = []
  for (const {file: f, from} of ep.identities) {
    if (!existsSync(f)) {
      if (ep.explicit) throw new UserError(`remote ${remote}: no key file ${f}`, {code: 'config', hint: 'pass an existing private key with --identity'})
      // A config's IdentityFile that is not there is passed over, as OpenSSH does, and named if no key logs in.
      if (from) unusable.push({file: f, why: 'does not exist', from})
      continue
    }
    let key: Buffer
    let mode = 0
    let fd: number | undefined
    try {
      fd = openSync(f, 'r')
      const st = fstatSync(fd)
      // Only a key file of ours is judged by its mode, as OpenSSH judges it.
      if (st.uid === process.getuid?.()) mode = st.mode & 0o777
      key = readFileSync(fd)
    } catch (e) {
      if (ep.explicit || !from) throw new UserError(`remote ${remote}: cannot read the key file ${f}: ${(e as Error).message}`, {code: 'config', hint: 'make it readable by you (chmod 600), or pass another key with --identity'})
      unusable.push({file: f, why: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, from})
      continue
    } finally {
      if (fd !== undefined) closeSync(fd)
    }
    // A private key others can read is one ssh ignores ("UNPROTECTED PRIVATE KEY FILE"), so that
    // its owner notices and protects it (and replaces it, if it may have been copied).
    const why = unusableKey(key) ?? ((mode & 0o077) !== 0 ? `${UNPROTECTED} (mode 0${mode.toString(8)}), which ssh ignores too` : undefined)
    // A key given by --identity that is no private key at all is a mistake to say at once; one
    // with a passphrase may still log in through the agent, which holds it unlocked.
    if (why && ep.explicit && why !== PASSPHRASE) {
      const hint = why.startsWith(UNPROTECTED) ? `make it readable by you alone: \`chmod 600 ${f}\`` : f.endsWith('.pub') ? `pass the private key: --identity ${f.slice(0, -4)}` : 'pass a private key file (as ssh-keygen writes it, e.g. ~/.ssh/id_ed25519)'
      throw new UserError(`remote ${remote}: --identity ${f} ${why}`, {code: 'config', hint})
    }
    if (why) unusable.push({file: f, why, from})
    else methods.push({type: 'publickey', username: ep.user, key})
  }
  // IdentityFile keys first, as OpenSSH offers them before the agent's others.
  if (ep.agent) {
    const agent: AnyAuthMethod = {type: 'agent', username: ep.user, agent: ep.agent}
    if (ep.identities.some((i) => i.from)) methods.push(agent)
    else methods.unshift(agent)
  }
  return {methods, unusable}
}

function noKeyError(remote: string, ep: Endpoint, unusable: Unusable[]): UserError {
  if (unusable.length) return new UserError(`remote ${remote}: no SSH key steme can use to log in to ${ep.where}: ${noteOf(unusable)}`, {code: 'unauthorized', exit: 1, hint: hintOf(unusable)})
  return new UserError(`remote ${remote}: no SSH key to log in to ${ep.where} with`, {code: 'unauthorized', exit: 1, hint: 'start ssh-agent and `ssh-add` your key, or pass --identity <private key file>'})
}

/**
 * Check a host key against the endpoint's known_hosts files, as OpenSSH does: the user's, then the
 * system's (GlobalKnownHostsFile). A revoked key in any of them is refused (every file is read,
 * even past one that knows the key), else a match in any is known, else a line for the name with
 * another key of that type is a changed key.
 */
function lookUp(ep: Endpoint, key: Buffer): HostKeyVerdict & {file?: string; system?: boolean} {
  let changed: {status: 'changed'; line: number; file: string; system: boolean} | undefined
  let known = false
  const files = [...ep.knownHosts.map((file) => ({file, system: false})), ...ep.systemKnownHosts.map((file) => ({file, system: true}))]
  for (const {file, system} of files) {
    let v: HostKeyVerdict
    try {
      v = checkHostKeyAs(file, ep.keyName, key)
    } catch (e) {
      // A system file that cannot be read is passed over, as ssh passes it over.
      if (system) continue
      throw e
    }
    if (v.status === 'revoked') return {...v, file, system}
    if (v.status === 'known') known = true
    if (v.status === 'changed') changed ??= {...v, file, system}
  }
  if (known) return {status: 'known'}
  return changed ?? {status: 'unknown'}
}

function verifier(remote: string, ep: Endpoint, opts: SshOptions, setError: (e: UserError) => void): (key: Buffer) => boolean {
  return (key: Buffer) => {
    const v = lookUp(ep, key)
    if (v.status === 'known') return true
    const fp = `${keyType(key)} ${keyFingerprint(key)}`
    const name = ep.keyName
    const role = ep.where.startsWith('jump host ') ? 'jump host ' : ''
    const file = ep.knownHosts[0]
    // The system's files are named only where there are some: most machines have none.
    const system = ep.systemKnownHosts.filter((f) => existsSync(f))
    const checked = (ep.knownHosts.length ? ep.knownHosts.join(' or ') : 'no known_hosts file (UserKnownHostsFile none)') + (system.length ? ` (nor in the system's ${system.join(' or ')})` : '')
    const record = (why: string) => {
      if (file === undefined) {
        opts.onNote?.(`accepted the host key of ${role}${name} (${fp}) for this run only (${why}; no known_hosts file to record it in)`)
        return true
      }
      addHostKeyAs(file, name, key, {hashed: ep.hashKnownHosts})
      opts.onNote?.(`accepted the host key of ${role}${name} (${fp}) and added it to ${file} (${why})`)
      return true
    }
    if (v.status === 'unknown' && opts.acceptHostKey) return record('--accept-host-key')
    if (v.status === 'unknown' && ep.acceptNew) return record(`StrictHostKeyChecking accept-new, ${at(ep.acceptNew)}`)
    if (v.status === 'changed' && opts.acceptHostKey) {
      opts.onNote?.(`warning: the host key of ${role}${name} changed (${fp}); accepted for this run only because of --accept-host-key`)
      return true
    }
    const scan = `ssh-keyscan ${ep.port === 22 ? '' : `-p ${ep.port} `}${ep.host}`
    if (v.status === 'unknown') {
      const aliasNote = name === hostEntryName(ep.host, ep.port).toLowerCase() ? '' : ` (HostKeyAlias for ${hostEntryName(ep.host, ep.port)})`
      setError(
        new UserError(`remote ${remote}: the host key of ${role}${name}${aliasNote} (${fp}) is not in ${checked}`, {
          code: 'unauthorized',
          exit: 1,
          hint: `check that fingerprint with the server's owner, then add it: \`${aliasNote ? `${scan} | sed 's/^[^ ]*/${name}/'` : scan} >> ${file ?? '~/.ssh/known_hosts'}\` (or log in once with ssh), or rerun with --accept-host-key`,
        }),
      )
    } else if (v.status === 'changed') {
      setError(
        new UserError(`remote ${remote}: the host key of ${role}${name} (${fp}) does NOT match ${v.file} line ${v.line}: someone may be intercepting the connection, or the host was reinstalled`, {
          code: 'unauthorized',
          exit: 1,
          hint: `${v.system ? `that file is the system's (GlobalKnownHostsFile): if the change is expected, ask whoever keeps it to replace the key` : `if the change is expected, remove the old key with \`ssh-keygen -f ${v.file} -R '${name}'\` and add the new one`}; --accept-host-key overrides for one run${ep.acceptNew ? ' (StrictHostKeyChecking accept-new records only new keys, never a changed one)' : ''}`,
        }),
      )
    } else {
      setError(new UserError(`remote ${remote}: the host key of ${role}${name} is marked @revoked in ${v.file} line ${v.line}`, {code: 'unauthorized', exit: 1, hint: 'do not connect; ask the server owner'}))
    }
    return false
  }
}
