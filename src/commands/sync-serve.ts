import {Errors, Flags} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {MAX_TIMER_SECONDS} from '../config.js'
import {isLoopback} from '../loopback.js'
import {UserError} from '../core/errors.js'
import {SYNC_SERVER_DB_THREADS} from '../sync/server.js'
import {DEFAULT_IDLE_TIMEOUT_S, DEFAULT_RELEASE_AFTER_S} from '../sync/stdio-server.js'
import {threadsFlag} from '../threads-flag.js'


/** Seconds, a decimal number >= 0; `zero` says what 0 means (e.g. "for no limit"). */
const secondsFlag = (example: number, zero: string) =>
  Flags.custom<number>({
    helpValue: '<seconds>',
    async parse(input) {
      if (!/^\d+(\.\d+)?$/.test(input)) throw new Errors.CLIError(`Expected a number of seconds (such as ${example}, or 0 ${zero}) but received: ${input}`)
      const n = Number(input)
      if (n > MAX_TIMER_SECONDS) throw new Errors.CLIError(`${input} seconds is more than the longest timeout, ${MAX_TIMER_SECONDS} (about 24 days): use 0 ${zero}`)
      return n
    },
  })

export default class SyncServe extends StemeCommand {
  static summary = 'Serve sync for this store: over stdin/stdout (what SSH remotes run) or a minimal HTTP endpoint'
  static description = `--stdio is what \`steme pull/push/sync ssh://...\` runs on the remote; it prints nothing
else on stdout. --http serves POST /v1/sync on a port, without authentication: whoever reaches it can pull every
record and, unless --read-only, push (for tests and small setups on one machine; \`steme serve\`
is the full daemon, with tokens and TLS).

With --stdio, sync-serve holds the store only while its client is active: once the client has been silent for --release-after seconds (10), it lets go of the store, and opens it again for the next request, waiting up to 30 s (or the store config's [store] busy_timeout_seconds, if longer) if another steme holds it by then, as a new session does when it starts. A network that drops without closing (a laptop shut, Wi-Fi lost) leaves the SSH session open for hours; its sync-serve then keeps no other writer out, the same client reconnecting included.

A client that makes no progress for --idle-timeout seconds (sends no byte while a request is awaited, or takes no byte of an answer) ends the session: sync-serve closes the store, says why on stderr and exits 1. A healthy client is never silent for long (between requests it only stores what it received: seconds), and one cut off anyway sends its request again on a new connection. To change the timeout for SSH remotes, set it in the remote store's config.toml (\`[sync] idle_timeout_seconds = 1800\`): clients start sync-serve without the flag, and the flag, when given, wins.`
  static examples = ['<%= config.bin %> sync-serve --stdio --store /srv/team', '<%= config.bin %> sync-serve --http 7070']
  static enableJsonFlag = false
  static flags = {
    stdio: Flags.boolean({description: 'speak the protocol on stdin/stdout', exclusive: ['http']}),
    http: Flags.integer({description: 'serve POST /v1/sync on this port (0: any free port, printed)', min: 0, max: 65535}),
    host: Flags.string({description: 'address for --http', default: '127.0.0.1'}),
    'read-only': Flags.boolean({description: 'serve pulls only: refuse pushed records'}),
    'idle-timeout': secondsFlag(DEFAULT_IDLE_TIMEOUT_S, 'to wait for ever')({
      description: `with --stdio: stop serving, and let go of the store, when the client makes no progress for this many seconds (0: wait for ever) [default: the store config's [sync] idle_timeout_seconds, else ${DEFAULT_IDLE_TIMEOUT_S}]`,
    }),
    'release-after': secondsFlag(DEFAULT_RELEASE_AFTER_S, 'to hold the store to the end')({
      description: `with --stdio: let go of the store while the client is silent this many seconds, and open it again (waiting for it if another steme holds it) for the next request (0: hold it to the end; a memory: store, which lives in this process, is always held) [default: the store config's [sync] release_after_seconds, else ${DEFAULT_RELEASE_AFTER_S}]`,
    }),
    'db-threads': threadsFlag('DuckDB worker threads: one costs the least CPU per request; raise it on a server with idle cores to answer large requests sooner', {default: SYNC_SERVER_DB_THREADS, min: 1}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(SyncServe)
    if (!flags.stdio && flags.http === undefined) throw new UserError('say how to serve: --stdio or --http <port>', {hint: 'see `steme sync-serve --help`'})
    for (const flag of ['idle-timeout', 'release-after'] as const) {
      if (flags[flag] !== undefined && !flags.stdio) throw new UserError(`--${flag} applies to --stdio only`, {hint: `sync-serve --http answers each request on its own and serves until stopped: drop --${flag}`})
    }
    if (flags.stdio) {
      // The same code as the oclif-free start of `bin/run.js`: it opens, serves, closes the store
      // and renders its own errors (and ends the process after an idle timeout).
      const {syncServeStdio} = await import('../sync/stdio-main.js')
      await syncServeStdio({store: flags.store, readOnly: flags['read-only'], dbThreads: flags['db-threads'], idleTimeoutS: flags['idle-timeout'], releaseAfterS: flags['release-after']})
      return
    }
    // --read-only serves pulls only, which read: the store is opened read-only too.
    const rt = await this.open({store: flags.store, readOnly: flags['read-only'], dbThreads: flags['db-threads']})
    const {createSyncHandler} = await import('../sync/server.js')
    const handler = createSyncHandler({store: rt.store, clock: rt.clock, saveClock: () => rt.saveClock(), skewMs: rt.config.skewSeconds * 1000, readOnly: flags['read-only'], soleWriter: true})
    try {
      const {startSyncHttpServer} = await import('../sync/http-server.js')
      const srv = await startSyncHttpServer(handler, flags.http, flags.host).catch((e: unknown) => {
        throw listenError(e, flags.host, flags.http!)
      })
      process.stdout.write(`${srv.url}\n`)
      const {blockedPortNote, fetchBlocksPort} = await import('../fetch-ports.js')
      if (fetchBlocksPort(flags.http!)) this.note(`note: ${blockedPortNote(flags.http!, '--http')}`)
      if (!isLoopback(flags.host)) {
        this.note(`note: sync-serve --http has no authentication, and ${flags.host} is reachable from other machines: anyone who reaches it can pull every record${flags['read-only'] ? '' : ' and push records'}; for a team, use \`steme serve\` (tokens, TLS)`)
      }
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
      })
      await srv.close()
    } finally {
      await handler.close()
    }
  }
}

/** A refused listen (port taken, a host that is not this machine's) as a config error naming the address, as `steme serve` reports it. */
function listenError(e: unknown, host: string, port: number): unknown {
  const code = (e as NodeJS.ErrnoException).code
  if (typeof code !== 'string') return e
  const hint =
    code === 'EADDRINUSE'
      ? 'another process uses that port: pick another with --http (0 picks a free one)'
      : code === 'EACCES'
        ? 'ports below 1024 need privileges: pick a higher one with --http'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EADDRNOTAVAIL' || code === 'EINVAL'
          ? 'check --host: it must be an address of this machine (127.0.0.1, 0.0.0.0, ::1) or a name that resolves to one'
          : 'check --host and --http'
  return new UserError(`cannot listen on ${host}:${port}: ${code}`, {code: 'config', hint, cause: e})
}
