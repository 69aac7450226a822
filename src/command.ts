/** The base of every steme command: global flags, the runtime, and the one error renderer. */
import {Command, Flags, Errors} from '@oclif/core'
import {UserError} from './core/errors.js'
import {renderError, storeCloseError} from './core/render-error.js'
import {visible} from './core/text.js'
import {hideSeeds} from './core/redact.js'
import {closest} from './core/words.js'
import type {Runtime, RuntimeOptions, StoreWait} from './runtime.js'
import {endPartialLine, isStdoutClosed, isStdoutFailed, stdoutDone, watchStdout} from './stdout.js'
import type {RemoteClient} from './serve/client.js'

/** What self in a lens means, for the --help of the commands that take a lens and can go through a daemon. */
export const SELF_IN_LENS =
  'agent:self in a lens (and self in an authority order) is your key, the one you sign with. Through a daemon (--remote, or the one holding this store) the CLI puts your key in for self before sending, since to the daemon self is its own key, and shows the answer with self as you wrote it; with no key here it refuses.'

/** Where a command's operation runs: on the store opened here, or on a `steme serve` daemon. */
export type Target = {rt: Runtime; remote?: undefined} | {remote: RemoteClient; rt?: undefined}

export abstract class StemeCommand extends Command {
  static enableJsonFlag = true
  /** For a command without --json: why, and where its data is as JSON (said when --json is given). */
  static noJson?: string

  static baseFlags = {
    store: Flags.string({
      description: 'store to use: a .steme directory, a DuckDB file or a postgres:// URL (default: STEME_STORE, else the nearest .steme/ upward)',
      helpGroup: 'GLOBAL',
    }),
  }

  /**
   * Base flags of the commands that use no store (keys, whoami, hook, coverage, claims add): --store
   * is still accepted, so an alias or a script that passes it to every command keeps working, but
   * their --help does not offer it, since it changes nothing there.
   */
  static storelessFlags = {
    store: Flags.string({description: 'accepted and ignored: this command uses no store', hidden: true}),
  }

  /** Flags of the commands that can run against a daemon (assert, vote, retract, trust, epoch, ingest, query, log, show, stats, conflicts, verify). */
  static remoteFlags = {
    remote: Flags.string({description: 'run against a `steme serve` daemon at this URL (default: STEME_REMOTE)', helpGroup: 'GLOBAL'}),
    token: Flags.string({description: 'bearer token for --remote (default: STEME_TOKEN)', helpGroup: 'GLOBAL'}),
  }

  /**
   * --key, for every command that signs (and whoami): one definition, so each takes the same
   * forms (a key name or a key file path) and falls back the same way (STEME_KEY, the default key).
   */
  static keyFlag = (what = 'the key to sign with') =>
    Flags.string({description: `${what}: a key name (\`steme keys list\`) or a key file path (default: STEME_KEY, else your default key)`})

  private runtime?: Runtime

  override async init(): Promise<void> {
    // Arguments come from the command line only. oclif would otherwise take a missing argument from
    // piped stdin, if it arrived within 10 ms: `echo x | steme log` listed subject x alone, and a
    // `steme log` inside a `while read` loop took the loop's next line for a subject.
    for (const arg of Object.values((this.constructor as typeof Command).args ?? {})) arg.ignoreStdin = true
    await super.init()
    // Test-only: the tests of how a bug is reported (exit 1, code internal under --json) need a
    // bug on demand, and a real one gets fixed. STEME_TEST_THROW=<command id> makes that command
    // fail with an unexpected error before it touches anything; no other code reads it.
    if (process.env.STEME_TEST_THROW !== undefined && process.env.STEME_TEST_THROW === this.id) {
      throw new Error(`STEME_TEST_THROW: a bug simulated for tests in \`steme ${this.id}\``)
    }
    // A reader that stops reading (`steme log | head`) is no failure: the command stops writing
    // (writeOut throws StdoutClosed) and exits 0 (see catch).
    watchStdout()
  }

  /**
   * Open the store here, or talk to a daemon: --remote / STEME_REMOTE, else the `steme serve`
   * that holds this store on this machine (found in its state/serve.json), else the store itself.
   */
  protected async target(flags: {store?: string; remote?: string; token?: string}, opts: Omit<RuntimeOptions, 'store'> = {}): Promise<Target> {
    // The client only when there is a daemon to talk to: most runs open the store itself.
    const client = async () => (await import('./serve/client.js')).RemoteClient
    // Self in a lens is the key this command would sign with, as in local mode, not the daemon's.
    const self = async () => new (await import('./keystore.js')).KeyStore(opts.env).load(opts.keyName).publicHex
    const url = flags.remote ?? process.env.STEME_REMOTE
    if (url) {
      const token = flags.token ?? process.env.STEME_TOKEN
      if (!token) throw new UserError(`--remote ${url} needs a token`, {code: 'unauthorized', hint: 'pass --token or set STEME_TOKEN (an admin creates one with `steme serve token create`)'})
      return {remote: new (await client())(url, token, self)}
    }
    const [{locateStore}, {readServeState, stateDir}] = await Promise.all([import('./config.js'), import('./serve/state.js')])
    const daemon = readServeState(stateDir(locateStore(flags.store, process.env, opts.cwd)))
    if (daemon) {
      this.note(`steme serve (pid ${daemon.pid}) holds this store: going through it at ${daemon.url}`)
      return {remote: new (await client())(daemon.url, daemon.token, self)}
    }
    return {rt: await this.open({...opts, store: flags.store})}
  }

  /** Open the store for this command; closed automatically when the command ends. */
  protected async open(opts: Omit<RuntimeOptions, 'store'> & {store?: string} = {}): Promise<Runtime> {
    const {openRuntime} = await import('./runtime.js')
    this.runtime = await openRuntime({...opts, wait: {...this.storeWait(), ...opts.wait}})
    return this.runtime
  }

  /**
   * How a command waits for a store another steme holds (a parallel assert, an ingest): as long as
   * the store's config says, and on a terminal, a wait that lasts says what it waits for. For the
   * commands that open a store without open() (init, migrate) too.
   */
  protected storeWait(): StoreWait {
    return {
      onWait: (ms: number) => {
        if (process.stderr.isTTY) this.note(`waiting for the store: another process holds it (for up to ${Number((ms / 1000).toFixed(1))} s)`)
      },
    }
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    if (this.runtime) {
      const rt = this.runtime
      this.runtime = undefined
      await rt.close().catch((e: unknown) => {
        if (err) return
        // Thrown from here it would skip catch() and reach the terminal as oclif's raw error, after
        // the command's own last words (`stopped: ...`): rendered as every other error instead, and
        // with --json instead of the result, which the store then did not keep whole.
        this.closeFailed = true
        process.exitCode = renderError(storeCloseError(e, rt.location.url), this.jsonEnabled())
      })
    }
    return super.finally(err)
  }

  /** The store failed as it was closed: the error is said, and the command's result is not printed as if all went well. */
  private closeFailed = false

  /**
   * Whether to draw live lines (progress, the daemon's status) on stderr: only on a real terminal
   * with a width that can redraw a line (not TERM=dumb), never with --json, and never in CI. CI is read as ink reads it (CI or
   * CONTINUOUS_INTEGRATION set, and not "0" or "false"): there ink holds every frame back until
   * the end, so a live line would show nothing at all.
   */
  protected liveTerminal(): boolean {
    const ci = (k: string) => k in process.env && process.env[k] !== '0' && process.env[k] !== 'false'
    return !!process.stderr.isTTY && !!process.stderr.columns && process.env.TERM !== 'dumb' && !ci('CI') && !ci('CONTINUOUS_INTEGRATION') && !this.jsonEnabled()
  }

  /** A live progress line on stderr when liveTerminal(), so pipes, logs and CI stay quiet. Loads ink only when shown. */
  protected async progress(label: string, opts?: import('./ui/progress.js').ProgressOptions): Promise<import('./ui/progress.js').ProgressHandle | undefined> {
    if (!this.liveTerminal()) return undefined
    return (await import('./ui/progress.js')).startProgress(label, opts)
  }

  /**
   * Ctrl-C (or SIGTERM) during a long write stops it gracefully: `signal` aborts, the progress line
   * goes, and `stopping` is said; the command finishes what was read and reports. A second signal
   * ends the process at once (the handlers are gone by then). `release()` in a finally.
   */
  protected stopOnSignal(progress: {stop(): void} | undefined, stopping: string): {signal: AbortSignal; caught: () => NodeJS.Signals | undefined; release: () => void} {
    const stop = new AbortController()
    let caught: NodeJS.Signals | undefined
    const release = () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      progress?.stop()
    }
    const onSignal = (s: NodeJS.Signals) => {
      caught = s
      stop.abort()
      release()
      this.note(`stopping: ${stopping} (press Ctrl-C again to quit at once)`)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    return {signal: stop.signal, caught: () => caught, release}
  }

  /**
   * --json output. oclif's own logJson runs every result through its JSON colorizer, which re-slices
   * the text once per token (about 65 ms on a 75 KB verify report); without a theme it prints this same text.
   */
  override logJson(json: unknown): void {
    if (this.closeFailed) return
    process.stdout.write(JSON.stringify(json, null, 2) + '\n')
  }

  /** Human output to stdout, only when --json is off. */
  protected out(text: string): void {
    if (!this.jsonEnabled()) process.stdout.write(text.endsWith('\n') ? text : text + '\n')
  }

  /** Prints the id of the record the command stored, and has a failing stdout say it was stored. */
  protected outStored(kind: string, id: string): void {
    stdoutDone(`The ${kind} was stored all the same, as ${id}`)
    this.out(id)
  }

  /**
   * Progress and notes go to stderr, so stdout stays parseable. Their line breaks are kept and any
   * other control character written as its escape: the fields a note quotes went through field()
   * where it was composed (src/core/text.ts), and this is the net for the rest (a peer's words, a
   * file's error).
   */
  protected note(text: string): void {
    const shown = text.split('\n').map(visible).join('\n')
    process.stderr.write(shown.endsWith('\n') ? shown : shown + '\n')
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // The reader has all it wanted: stop quietly, as `git log | head` does.
    if (isStdoutClosed(err)) return
    // A write to stdout failed: said when it did, with its exit code.
    if (isStdoutFailed(err)) return
    if (!(err instanceof UserError) && (err instanceof Errors.CLIError || (err as {oclif?: unknown}).oclif)) {
      // oclif's own usage errors (unknown flag, missing argument) and this.exit(): usage exit code 2.
      if (err.oclif?.exit === 0 || err.exitCode === 0) return
      if (err.message.startsWith('EEXIT')) {
        process.exitCode = err.oclif?.exit ?? 0
        return
      }
      // Rendered as every other error (and as JSON with --json); oclif's own pointer to --help is the hint.
      // A flag value its parser refused reads "Parsing --limit \n\tExpected an integer ...": made one
      // line, the flag first. oclif adds to a missing argument a note that repeatable flags swallow the
      // arguments after them; steme's repeatable flags take one value each, so it does not apply.
      // Flags that need or exclude others: the reasons alone, on one line, without oclif's header.
      // A value outside an argument's choices is said with the argument's name.
      const text = err.message
        .replace(/\s*See more help with --help\s*$/, '')
        .replace(/^Parsing (--[\w-]+) *\n\s*(?:([A-Z])(?=[a-z]))?/, (_m, flag: string, c?: string) => `${flag}: ${c?.toLowerCase() ?? ''}`)
        .replace(/\n\nNote: [^\n]* allows? multiple values\.[^\n]*\nAlternatively, you can use "--"[^\n]*/, '')
        .replace(/^The following errors? occurred:\n {2}([^]*)$/, (_m, reasons: string) => reasons.split('\n  ').join('; '))
        .replace(/^Expected (.*) to be one of: (.*)$/, (m, input: string, list: string) => {
          const arg = Object.entries((this.constructor as typeof StemeCommand).args ?? {}).find(([, a]) => a.options?.join(', ') === list)
          return arg ? `${arg[0]} must be one of: ${list}; got ${JSON.stringify(input)}` : m
        })
      const message = hideSeeds(text) + this.nearestFlags(err)
      process.exitCode = renderError(new UserError(message, {hint: `see \`steme ${this.id?.replaceAll(':', ' ') ?? ''} --help\``}), this.jsonEnabled())
      return
    }
    // A listing streamed part way (log, conflicts) has no end to its document: the error's own goes on the next line.
    if (this.jsonEnabled()) endPartialLine()
    process.exitCode = renderError(err, this.jsonEnabled())
  }

  /** For a flag this command does not have (oclif's error lists them as typed), the flags it has that were probably meant. */
  private nearestFlags(err: Error): string {
    const given = (err as {flags?: unknown}).flags
    if (!Array.isArray(given) || !err.message.startsWith('Nonexistent flag')) return ''
    const ctor = this.constructor as typeof StemeCommand
    const known = Object.entries({...ctor.baseFlags, ...ctor.flags})
      .filter(([, f]) => !f.hidden)
      .map(([name]) => name)
    if (ctor.enableJsonFlag) known.push('json')
    const names = given.map((g) => String(g).replace(/^-+/, '').split('=')[0])
    // --remote on a command that cannot go through a daemon: say which ones can.
    if (names.includes('remote') && !known.includes('remote')) {
      const through = this.config.commands.filter((c) => c.flags?.remote && !c.hidden).map((c) => c.id.replaceAll(':', ' '))
      return `; ${this.id?.replaceAll(':', ' ')} does not go through a daemon (those that do: ${through.sort().join(', ')})`
    }
    // --json on a command whose output is not a JSON document: say so, and where its data is as JSON.
    if (names.includes('json') && !known.includes('json')) return `; ${this.id?.replaceAll(':', ' ')} takes no --json${ctor.noJson ? `: ${ctor.noJson}` : ''}`
    const near = names.flatMap((n) => closest(n, known, {max: 1}).map((k) => `--${k}`))
    return near.length ? `; did you mean ${[...new Set(near)].join(' or ')}?` : ''
  }
}
