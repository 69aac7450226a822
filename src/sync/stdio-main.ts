/**
 * `steme sync-serve --stdio --store <path>`, the exact command every SSH sync runs on the
 * remote, started without oclif: loading oclif and finding the command is about 120 ms of the
 * remote's start, on the path of every SSH sync's first answer. Only that exact form (what
 * `remoteCommand` sends) takes this path; any other arguments (--help, --read-only, another
 * order) go through oclif as usual, to the same code.
 */
import {renderError} from '../core/render-error.js'
import {openRuntime} from '../runtime.js'
import {SYNC_SERVER_DB_THREADS} from './server.js'
import {serveRuntimeStdio} from './stdio-server.js'

/** The store path when `argv` (after the binary) is exactly `sync-serve --stdio --store <path>`. */
export function fastSyncServeArgs(argv: readonly string[]): string | undefined {
  if (argv.length !== 4 || argv[0] !== 'sync-serve' || argv[1] !== '--stdio' || argv[2] !== '--store') return undefined
  const store = argv[3]
  return store && !store.startsWith('-') ? store : undefined
}

/** Serve sync on stdin/stdout for the store at `store`; errors are rendered as every command renders them. */
export async function syncServeStdio(store: string): Promise<void> {
  try {
    const rt = await openRuntime({store, dbThreads: SYNC_SERVER_DB_THREADS})
    try {
      await serveRuntimeStdio(rt, false)
    } finally {
      await rt.close()
    }
  } catch (e) {
    process.exitCode = renderError(e, false)
  }
}
