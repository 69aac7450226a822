/**
 * `steme sync-serve --stdio --store <path>`, the exact command every SSH sync runs on the
 * remote, started without oclif: loading oclif and finding the command is about 120 ms of the
 * remote's start, on the path of every SSH sync's first answer. Only that exact form (what
 * `remoteCommand` sends) takes this path; any other arguments (--help, --read-only, another
 * order) go through oclif as usual, to the same code (`syncServeStdio`).
 */
import {renderError} from '../core/render-error.js'
import {openRuntime} from '../runtime.js'
import {PREAMBLE} from './framing.js'
import {SYNC_SERVER_DB_THREADS} from './server.js'
import {DEFAULT_IDLE_TIMEOUT_S, DEFAULT_RELEASE_AFTER_S, STORE_WAIT_MS, serveRuntimeStdio} from './stdio-server.js'

/** The store path when `argv` (after the binary) is exactly `sync-serve --stdio --store <path>`. */
export function fastSyncServeArgs(argv: readonly string[]): string | undefined {
  if (argv.length !== 4 || argv[0] !== 'sync-serve' || argv[1] !== '--stdio' || argv[2] !== '--store') return undefined
  const store = argv[3]
  return store && !store.startsWith('-') ? store : undefined
}

export interface SyncServeStdioOptions {
  /** The store as --store gives it (absent: STEME_STORE, else the nearest .steme/). */
  store?: string
  readOnly?: boolean
  dbThreads?: number
  /** Seconds without progress from the client before serving stops (0: never); absent: the store config's `[sync] idle_timeout_seconds`, else the default. */
  idleTimeoutS?: number
  /** Seconds of the client's silence before the store is let go of until its next request (0: held to the end); absent: the store config's `[sync] release_after_seconds`, else DEFAULT_RELEASE_AFTER_S. */
  releaseAfterS?: number
}

/**
 * Serve sync on stdin/stdout for a store, then close it; errors are rendered as every command
 * renders them, with the exit code in process.exitCode.
 */
export async function syncServeStdio(opts: SyncServeStdioOptions): Promise<void> {
  let stuck = false
  try {
    // A store another steme holds is waited for: most often the steme of this client's own
    // lost connection, which lets go once silent for its release time.
    // Said before the store is opened: a client then knows a steme answers, however long the
    // store takes to open or is waited for, and tells a command that never says it (not steme,
    // or hung) from a slow store.
    await writePreamble()
    const open = () => openRuntime({store: opts.store, readOnly: opts.readOnly, dbThreads: opts.dbThreads ?? SYNC_SERVER_DB_THREADS, wait: {atLeastMs: STORE_WAIT_MS}})
    const rt = await open()
    await serveRuntimeStdio(rt, open, {
      readOnly: opts.readOnly,
      preambleSent: true,
      // A memory: store lives in this process: closing it would drop every record pushed, and
      // it keeps no other process out anyway.
      releaseMs: rt.location.url === 'memory:' ? 0 : (opts.releaseAfterS ?? rt.config.syncReleaseAfterSeconds ?? DEFAULT_RELEASE_AFTER_S) * 1000,
      ...idleTimeout(opts.idleTimeoutS, rt.config.syncIdleTimeoutSeconds),
    })
  } catch (e) {
    process.exitCode = renderError(e, false)
    // An answer the client never took (it vanished: the idle timeout ended serving) is still
    // queued on stdout, and would keep this process, done with the store, alive until the SSH
    // session ends, hours later.
    stuck = process.stdout.writableLength > 0
  }
  if (stuck) process.exit()
}

const writePreamble = () => new Promise<void>((resolve, reject) => process.stdout.write(PREAMBLE, (e) => (e ? reject(e) : resolve())))

/** The flag wins over the store's config, which wins over the default; the message names what set it. */
function idleTimeout(flag: number | undefined, config: number | undefined): {idleMs: number; idleSetting: string} {
  if (flag !== undefined) return {idleMs: flag * 1000, idleSetting: '--idle-timeout'}
  if (config !== undefined) return {idleMs: config * 1000, idleSetting: "[sync] idle_timeout_seconds in the store's config.toml"}
  return {idleMs: DEFAULT_IDLE_TIMEOUT_S * 1000, idleSetting: 'the default --idle-timeout'}
}
