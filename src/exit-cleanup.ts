/** Files a command leaves only while it runs (a temporary output, sorted runs), removed however the process ends. */

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * Runs `remove` should the process end before the returned function is called: by Ctrl-C,
 * SIGTERM or a terminal hanging up, or by process.exit(). On a signal the process then dies of
 * that signal, as the shell and the parent expect, or exits with 128+n if someone else still
 * listens for it. `remove` must be synchronous and may throw (nothing more can be done on the
 * way out). Returns what undoes the hook, to call once the files are gone or kept.
 */
export function cleanupOnExit(remove: () => void): () => void {
  const quietly = () => {
    try {
      remove()
    } catch {
      // Already gone, or nothing more can be done on the way out.
    }
  }
  const onSignal = (signal: NodeJS.Signals) => {
    unhook()
    quietly()
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    else process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1))
  }
  const onExit = () => {
    unhook()
    quietly()
  }
  const unhook = () => {
    for (const s of SIGNALS) process.removeListener(s, onSignal)
    process.removeListener('exit', onExit)
  }
  for (const s of SIGNALS) process.on(s, onSignal)
  process.on('exit', onExit)
  return unhook
}
