/** The SSH transport: runs `steme sync-serve --stdio` on the remote over an exec channel, as git runs upload-pack. */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import ssh2, {Client, type AnyAuthMethod, type ClientChannel} from 'ssh2'
import {heldByDaemon, remoteHint, remoteStoreCode} from '../remote-errors.js'
import {UserError} from '../../core/errors.js'
import {homeDir, whyNoHome} from '../../home.js'
import {TransientError, type Transport} from '../../core/transport.js'
import {FramingError, MessageReader, frameMessage} from '../framing.js'
import {IDLE_EXIT} from '../stdio-server.js'
import {addHostKey, checkHostKey, hostEntryName, keyFingerprint, keyType} from './known-hosts.js'

export interface SshTarget {
  user: string
  host: string
  port: number
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
  const knownHosts = opts.knownHosts ?? (home === undefined ? '' : join(home, '.ssh', 'known_hosts'))
  const where = `${target.user}@${hostEntryName(target.host, target.port)}`
  const timeoutMs = opts.requestTimeoutMs ?? 120_000
  const keepaliveMs = opts.keepaliveMs ?? 15_000
  let conn: Client | undefined
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

  const fail = (e: Error) => {
    const w = waiting
    waiting = undefined
    channel = undefined
    conn?.end()
    conn = undefined
    w?.reject(e)
  }

  // Key files that could not be offered, with why: said when no key logs in.
  let unusable: {file: string; why: string}[] = []
  const auth = (): AnyAuthMethod[] => {
    const methods: AnyAuthMethod[] = []
    unusable = []
    const agent = opts.agent ?? env.SSH_AUTH_SOCK
    if (agent) methods.push({type: 'agent', username: target.user, agent})
    const files = opts.identities ?? (home === undefined ? [] : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(home, '.ssh', f)))
    for (const f of files) {
      if (!existsSync(f)) {
        if (opts.identities) throw new UserError(`remote ${remote}: no key file ${f}`, {code: 'config', hint: 'pass an existing private key with --identity'})
        continue
      }
      const key = readFileSync(f)
      const why = unusableKey(key)
      // A key given by --identity that is no private key at all is a mistake to say at once; one
      // with a passphrase may still log in through the agent, which holds it unlocked.
      if (why && opts.identities && why !== PASSPHRASE) {
        throw new UserError(`remote ${remote}: --identity ${f} ${why}`, {code: 'config', hint: f.endsWith('.pub') ? `pass the private key: --identity ${f.slice(0, -4)}` : 'pass a private key file (as ssh-keygen writes it, e.g. ~/.ssh/id_ed25519)'})
      }
      if (why) unusable.push({file: f, why})
      else methods.push({type: 'publickey', username: target.user, key})
    }
    return methods
  }
  const unusableNote = () => unusable.map((u) => `${u.file} ${u.why}`).join('; ')
  const unusableHint = () => (unusable.some((u) => u.why === PASSPHRASE) ? `load a key with a passphrase into ssh-agent (\`eval "$(ssh-agent)"; ssh-add ${unusable.find((u) => u.why === PASSPHRASE)!.file}\`), or pass --identity with a key that has none` : 'pass --identity with a private key file')

  const connect = () =>
    new Promise<void>((resolve, reject) => {
      if (knownHosts === '') {
        reject(noHome())
        return
      }
      const methods = auth()
      if (methods.length === 0) {
        if (unusable.length) reject(new UserError(`remote ${remote}: no SSH key steme can use to log in to ${where}: ${unusableNote()}`, {code: 'unauthorized', exit: 1, hint: unusableHint()}))
        else reject(new UserError(`remote ${remote}: no SSH key to log in to ${where} with`, {code: 'unauthorized', exit: 1, hint: 'start ssh-agent and `ssh-add` your key, or pass --identity <private key file>'}))
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
              // request starts it again on a new connection, so this one is ended, not left open.
              if (conn === c) conn = undefined
              c.end()
              return
            }
            fail(exitError(remote, where, {code, signal, stderr, remoteCmd: opts.remoteCmd, started: reader?.started ?? false, answered}))
          })
          resolve()
        })
      })
      c.on('error', (e: Error & {code?: string; level?: string}) => {
        const err = hostKeyError ?? connectError(remote, where, e, ready ? 'up' : answered ? 'answered' : 'never', keepaliveMs, unusable.length ? {note: unusableNote(), hint: unusableHint()} : undefined)
        reject(err)
        // A connection already given up: its late errors must not fail the request of a new one.
        if (conn === c) fail(err)
      })
      c.on('close', () => {
        if (conn !== c) return
        if (waiting) fail(new TransientError(`remote ${remote}: the SSH connection to ${where} closed`))
        conn = undefined
        channel = undefined
      })
      c.connect({
        host: target.host,
        port: target.port,
        username: target.user,
        readyTimeout: opts.connectTimeoutMs ?? 20_000,
        keepaliveInterval: keepaliveMs,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        authHandler: methods,
        hostVerifier: (key: Buffer) => {
          const v = checkHostKey(knownHosts, target.host, target.port, key)
          if (v.status === 'known') return true
          const fp = `${keyType(key)} ${keyFingerprint(key)}`
          const name = hostEntryName(target.host, target.port)
          if (v.status === 'unknown' && opts.acceptHostKey) {
            addHostKey(knownHosts, target.host, target.port, key)
            opts.onNote?.(`accepted the host key of ${name} (${fp}) and added it to ${knownHosts}`)
            return true
          }
          if (v.status === 'changed' && opts.acceptHostKey) {
            opts.onNote?.(`warning: the host key of ${name} changed (${fp}); accepted for this run only because of --accept-host-key`)
            return true
          }
          if (v.status === 'unknown') {
            hostKeyError = new UserError(`remote ${remote}: the host key of ${name} (${fp}) is not in ${knownHosts}`, {
              code: 'unauthorized',
              exit: 1,
              hint: `check that fingerprint with the server's owner, then add it: \`ssh-keyscan ${target.port === 22 ? '' : `-p ${target.port} `}${target.host} >> ${knownHosts}\` (or log in once with ssh), or rerun with --accept-host-key`,
            })
          } else if (v.status === 'changed') {
            hostKeyError = new UserError(`remote ${remote}: the host key of ${name} (${fp}) does NOT match ${knownHosts} line ${v.line}: someone may be intercepting the connection, or the host was reinstalled`, {
              code: 'unauthorized',
              exit: 1,
              hint: `if the change is expected, remove the old key with \`ssh-keygen -f ${knownHosts} -R '${name}'\` and add the new one; --accept-host-key overrides for one run`,
            })
          } else {
            hostKeyError = new UserError(`remote ${remote}: the host key of ${name} is marked @revoked in ${knownHosts} line ${v.line}`, {code: 'unauthorized', exit: 1, hint: 'do not connect; ask the server owner'})
          }
          return false
        },
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
        hint: `check that \`ssh ${target.port === 22 ? '' : `-p ${target.port} `}${target.user}@${target.host} ${cmd} --version\` prints steme's version, or set the command with --remote-cmd`,
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
      conn?.end()
      conn = undefined
    },
  }
}

const PASSPHRASE = 'is protected by a passphrase, which steme cannot ask for'

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
function connectError(remote: string, where: string, e: Error & {code?: string; level?: string}, seen: 'up' | 'answered' | 'never', keepaliveMs: number, unusable?: {note: string; hint: string}): Error {
  if (e.level === 'client-authentication') {
    return new UserError(`remote ${remote}: ${where} refused every key offered (${e.message})${unusable ? `; not offered: ${unusable.note}` : ''}`, {
      code: 'unauthorized',
      exit: 1,
      hint: unusable ? `${unusable.hint}; or add your public key to ~/.ssh/authorized_keys on the remote` : 'add your public key to ~/.ssh/authorized_keys on the remote, load the right key with `ssh-add`, or pass --identity',
    })
  }
  if (e.level === 'client-timeout' && seen === 'up' && e.message === 'Keepalive timeout') {
    const secs = Math.round(((KEEPALIVE_COUNT_MAX + 1) * keepaliveMs) / 100) / 10
    return new TransientError(`remote ${remote}: the SSH connection to ${where} was lost: ${KEEPALIVE_COUNT_MAX} keepalives went unanswered in ${secs} s (the network or the host went away)`, {cause: e})
  }
  const unreachable = e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || e.level === 'client-timeout' || e.code === 'ETIMEDOUT'
  if (unreachable && seen === 'up') return new TransientError(`remote ${remote}: the SSH connection to ${where} was lost (${e.code ?? e.message})`, {cause: e})
  if (unreachable && seen === 'answered') return new TransientError(`remote ${remote}: cannot reach ${where} again (${e.code ?? e.message})`, {cause: e})
  if (unreachable) {
    return new UserError(`remote ${remote}: cannot reach ${where} (${e.code ?? e.message})`, {code: 'remote', exit: 1, hint: 'check the host name and port in the remote URL, and that sshd runs there (`steme remote list`)'})
  }
  return new TransientError(`remote ${remote}: SSH to ${where} failed: ${e.message}`, {cause: e})
}
