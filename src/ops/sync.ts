/** Pull, push or sync with a remote: resolve its name, open its transport, reconcile, report. */
import {UserError} from '../core/errors.js'
import type {Transport} from '../core/transport.js'
import {runSync, type SyncMode, type SyncProgress, type SyncSummary} from '../sync/client.js'
import {REMOTE_NAME} from '../sync/remote.js'
import type {RetryPolicy} from '../sync/retry.js'
import type {Deps} from './deps.js'

export interface SyncInput {
  /** A configured remote name, or a URL/path; default: `origin`, else the only remote. */
  remote?: string
  mode: SyncMode
  /** Opens the transport (the composition root decides which, and with what SSH options). */
  open(name: string, spec: string, base: string | undefined): Promise<Transport>
  /** Where relative paths of configured remotes start: the directory holding `.steme/`. */
  base?: string
  retry?: RetryPolicy
  threads?: number
  onProgress?: (p: SyncProgress) => void
}

const looksLikeSpec = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || s.includes('/') || s.startsWith('.')

/** `command` is the one the user ran, so a hint to name a remote repeats it. */
export function resolveRemote(remotes: Record<string, string>, given: string | undefined, command: SyncMode = 'sync'): {name: string; spec: string} {
  const names = Object.keys(remotes)
  if (given === undefined) {
    if (remotes.origin) return {name: 'origin', spec: remotes.origin}
    if (names.length === 1) return {name: names[0], spec: remotes[names[0]]}
    throw new UserError(names.length ? `which remote? this store has ${names.join(', ')}` : 'no remote given and none configured', {
      hint: names.length ? `name one, e.g. \`steme ${command} ${names[0]}\`` : 'add one with `steme remote add origin ssh://user@host/path/to/store` (or http://host:port, or a path), or pass a URL',
    })
  }
  if (remotes[given] !== undefined) return {name: given, spec: remotes[given]}
  // What no remote can be named (me@host:repo, an empty string) is a spec: parseRemote says what is wrong with it.
  if (looksLikeSpec(given) || !REMOTE_NAME.test(given)) return {name: given, spec: given}
  throw new UserError(`no remote named ${given}`, {code: 'not_found', hint: names.length ? `configured remotes: ${names.join(', ')}` : 'add it with `steme remote add <name> <url>`'})
}

export async function syncOp(deps: Pick<Deps, 'store' | 'clock' | 'config' | 'saveClock'>, input: SyncInput): Promise<SyncSummary> {
  const {name, spec} = resolveRemote(deps.config.remotes, input.remote, input.mode)
  // A configured relative path means relative to the store, not to wherever the command runs.
  const configured = deps.config.remotes[name] === spec
  const transport = await input.open(name, spec, configured ? input.base : undefined)
  try {
    return await runSync(
      {store: deps.store, clock: deps.clock, saveClock: deps.saveClock, skewMs: deps.config.skewSeconds * 1000},
      transport,
      {mode: input.mode, retry: input.retry, threads: input.threads, onProgress: input.onProgress},
    )
  } finally {
    await transport.close()
  }
}
