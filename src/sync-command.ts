/** The shared shape of `steme pull`, `push` and `sync`: flags, progress on a TTY, the summary and exit code. */
import {dirname} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {StemeCommand} from './command.js'
import {UserError} from './core/errors.js'
import {DAMAGED_HINT, DamagedRecordError} from './core/stored.js'
import type {Store} from './core/store.js'
import {redactUrls} from './core/redact.js'
import type {Transport} from './core/transport.js'
import type {SyncMode, SyncSummary} from './sync/client.js'
import type {OpenOptions} from './sync/remote.js'
import {threadsFlag} from './threads-flag.js'
import {plural} from './core/words.js'
import {visible} from './core/text.js'

export abstract class SyncCommand extends StemeCommand {
  static args = {remote: Args.string({description: 'a configured remote name, or a URL / path (default: origin, else the only remote)'})}
  static flags = {
    'accept-host-key': Flags.boolean({description: 'SSH: trust an unknown host key and add it to known_hosts (a changed key is accepted for this run only)'}),
    'remote-cmd': Flags.string({description: 'SSH: how to run steme on the remote (default: steme, or STEME_REMOTE_CMD)'}),
    identity: Flags.string({description: 'SSH: private key file to log in with (repeatable; default: the IdentityFile of ~/.ssh/config, and ssh-agent, else ~/.ssh/id_*; a key with a passphrase: load it into ssh-agent)', multiple: true, multipleNonGreedy: true}),
    token: Flags.string({description: 'HTTP: bearer token for a `steme serve` remote (default: STEME_TOKEN; create one there with `steme serve token create --role read|write`)'}),
    retries: Flags.integer({description: 'retries of a failed request, with exponential backoff', default: 5, min: 0}),
    threads: threadsFlag('verification worker threads (default: one per core)', {min: 0}),
  }

  protected abstract readonly mode: SyncMode

  async run(): Promise<SyncSummary> {
    const {args, flags} = await this.parse(this.constructor as typeof SyncCommand)
    const {openTransport} = await import('./sync/remote.js')
    const openOpts = {acceptHostKey: flags['accept-host-key'], remoteCmd: flags['remote-cmd'] ?? process.env.STEME_REMOTE_CMD, identities: flags.identity, token: flags.token, onNote: (t: string) => this.note(t)}
    const early = await earlySsh(flags.store, args.remote, openOpts)
    let rt
    try {
      // A push only reads this store: read-only, so it works on a store it may not write and
      // leaves it open to other readers meanwhile.
      rt = await this.open({store: flags.store, readOnly: this.mode === 'push'})
    } catch (e) {
      await early?.transport.close()
      throw (await servedStoreError(e, this.mode, flags.store, args.remote)) ?? e
    }
    const {syncOp} = await import('./ops/sync.js')
    const progress = await this.progress(this.mode)
    let res: SyncSummary
    let usedEarly = false
    const so = {received: 0, sent: 0}
    const unhook = onInterrupt((signal) => {
      progress?.stop()
      // Each batch is stored as it arrives, so a rerun asks only for what is still missing.
      this.note(`interrupted (${signal}) after ${plural(so.received, 'record')} received and ${so.sent} sent: what was stored is kept; run the same command again to go on`)
    })
    try {
      res = await syncOp(rt, {
        remote: args.remote,
        mode: this.mode,
        threads: flags.threads,
        retry: {retries: flags.retries, baseMs: 200, maxMs: 10_000, onRetry: (n, ms, e) => this.note(`retry ${n} in ${ms} ms: ${redactUrls(e.message)}`)},
        base: rt.location.dir ? dirname(rt.location.dir) : undefined,
        open: async (name, spec, base) => {
          if (early && early.name === name && early.spec === spec) {
            usedEarly = true
            return early.transport
          }
          return openTransport(name, spec, {...openOpts, cwd: base})
        },
        onProgress: (p) => {
          so.received = p.received
          so.sent = p.sent
          progress?.update({rounds: p.rounds, ranges: p.ranges, received: p.received, sent: p.sent, rejected: p.rejected, 'bytes in': p.bytesIn, 'bytes out': p.bytesOut})
        },
      })
    } finally {
      unhook()
      progress?.stop()
      if (early && !usedEarly) await early.transport.close()
    }
    const {renderSyncSummary} = await import('./ui/sync-summary.js')
    // A record the remote rejected may be one this store holds damaged (sync sends the stored
    // bytes as they are): the remote's reason alone would blame the remote, or the record's maker.
    const damagedHere = await damagedLocally(rt.store, res.errors)
    for (const e of res.errors) {
      this.note(visible(`${e.where === 'local' ? 'rejected here' : 'rejected by the remote'}${e.id ? ` ${e.id.slice(0, 12)}` : ''}: ${e.reason}`))
      const problem = e.id === undefined ? undefined : damagedHere.get(e.id)
      if (problem !== undefined) this.note(visible(`  record ${e.id} is damaged in this store, which sent it as stored: ${problem}`))
    }
    if (damagedHere.size) this.note(`hint: ${DAMAGED_HINT}`)
    this.out(renderSyncSummary(res))
    // A memory: store lives in this process, as for assert and ingest: a pull into it verifies
    // what it receives (a check of the remote), but keeps nothing once the command exits.
    if (rt.location.url === 'memory:' && this.mode !== 'push') {
      const n = res.local.added
      this.note(`note: a memory: store lasts only while this command runs: the ${plural(n, 'record')} added ${n === 1 ? 'was' : 'were'} verified, and ${n === 1 ? 'is' : 'are'} dropped as it ends; to keep what you ${this.mode}, ${this.mode} into a store on disk (\`steme init\` makes one; or pass --store <dir>)`)
    }
    if (res.local.rejected > 0 || res.remoteResult.rejected > 0) process.exitCode = 1
    return res
  }
}

/**
 * For an ssh:// remote, the transport, already connecting: the SSH handshake and the remote
 * steme's start then overlap opening the local store. Anything unusual (no store, no such
 * remote, another kind of remote) returns nothing, and the normal path reports it in its
 * usual order; a connection error surfaces from the first request, after the store opened.
 */
async function earlySsh(store: string | undefined, remote: string | undefined, opts: OpenOptions): Promise<{name: string; spec: string; transport: Transport} | undefined> {
  try {
    const [{locateStore, readConfig}, {resolveRemote}, {openTransport}] = await Promise.all([import('./config.js'), import('./ops/sync.js'), import('./sync/remote.js')])
    const {name, spec} = resolveRemote(readConfig(locateStore(store).dir).remotes, remote)
    if (!/^ssh:\/\//i.test(spec)) return undefined
    const transport = await openTransport(name, spec, opts)
    transport.connect?.()
    return {name, spec, transport}
  } catch {
    return undefined
  }
}

/**
 * Of the records the remote rejected, those whose text this store holds damaged (see
 * core/stored.ts), with what is wrong: a lookup of each by id, at most the 100 errors a summary keeps.
 */
async function damagedLocally(store: Store, errors: SyncSummary['errors']): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const e of errors) {
    if (e.where !== 'remote' || e.id === undefined) continue
    try {
      await store.get([e.id])
    } catch (err) {
      if (err instanceof DamagedRecordError) out.set(e.id, err.problem)
    }
  }
  return out
}

/** What `pull`, `push` and `sync` on the other store do to this one: each the mirror of the other. */
const MIRROR: Record<SyncMode, SyncMode> = {pull: 'push', push: 'pull', sync: 'sync'}

/**
 * This store is held by `steme serve`, which syncs only as a server: the same sync runs from the
 * other store against the daemon's URL. The lock error's hint (stop the daemon) is replaced by
 * that command, written out when the remote is a store on this machine.
 */
async function servedStoreError(e: unknown, mode: SyncMode, store: string | undefined, remote: string | undefined): Promise<UserError | undefined> {
  if (!(e instanceof UserError) || e.code !== 'locked') return undefined
  const held = /is held by `steme serve` \(pid (\d+), (\S+)\)$/.exec(e.message)
  if (!held) return undefined
  const [, pid, url] = held
  let other: string | undefined
  try {
    const [{locateStore, readConfig}, {resolveRemote}, {parseRemote}] = await Promise.all([import('./config.js'), import('./ops/sync.js'), import('./sync/remote.js')])
    const loc = locateStore(store)
    const {name, spec} = resolveRemote(readConfig(loc.dir).remotes, remote, mode)
    const configured = readConfig(loc.dir).remotes[name] === spec
    const r = parseRemote(spec, configured && loc.dir ? dirname(loc.dir) : undefined)
    if (r.kind === 'path') other = r.path
  } catch {
    // No remote resolves: the hint stays general.
  }
  const role = mode === 'push' ? 'read' : 'write'
  const how = other
    ? `run it from the other store against the daemon instead: \`steme ${MIRROR[mode]} ${url} --store ${other}\``
    : `run the ${mode} from the other store against the daemon's URL (${url}) instead`
  return new UserError(e.message, {
    code: 'locked',
    exit: e.exit,
    hint: `${how}, with a token from \`steme serve token create --role ${role}\` here in STEME_TOKEN; or stop the daemon first: kill -TERM ${pid}`,
    cause: e,
  })
}

/**
 * Say something on Ctrl-C or SIGTERM, then die of the signal as before (nothing is cleaned up in
 * JS: DuckDB keeps what it committed, and a handler that closed it mid-write could crash). Returns
 * the function that takes the handler off again.
 */
function onInterrupt(say: (signal: NodeJS.Signals) => void): () => void {
  const signals = ['SIGINT', 'SIGTERM'] as const
  const handler = (signal: NodeJS.Signals): void => {
    unhook()
    say(signal)
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    else process.exit(signal === 'SIGINT' ? 130 : 143)
  }
  const unhook = (): void => {
    for (const s of signals) process.removeListener(s, handler)
  }
  for (const s of signals) process.on(s, handler)
  return unhook
}
