/**
 * Results written to stdout as they are made, not gathered first: each write waits while the
 * reader is behind, and a reader that stops reading (`steme log | head`) ends the command quietly.
 */
import {once} from 'node:events'
import {UserError} from './core/errors.js'
import {renderError} from './core/render-error.js'

/** Thrown by writeOut once stdout's reader has gone: the command stops, and exits 0 without a word. */
export class StdoutClosed extends Error {
  constructor() {
    super('stdout was closed by its reader')
    this.name = 'StdoutClosed'
  }
}

/**
 * Thrown by writeOut once a write to stdout failed for another reason than its reader going (a full
 * disk under `> file`): the failure was said when it happened, so the command only stops.
 */
export class StdoutFailed extends Error {
  constructor() {
    super('a write to stdout failed')
    this.name = 'StdoutFailed'
  }
}

let closed = false
let failed = false
/** Whether the last text writeOut wrote ended part way through a line (a JSON listing between its items). */
let midLine = false
let watching = false
/** What the command did before printing it (a record stored), said if printing it then fails. */
let done: string | undefined
/** What to do instead of running the command again, when `done` is said. */
let instead: string | undefined

/**
 * Called by a command that wrote a record, before it prints the record's id: should that print fail
 * (`steme assert ... > /dev/full`), the error says the record is stored, so a script that reruns the
 * command on exit 1 knows it would store a second record, not retry the first.
 */
export function stdoutDone(what: string, insteadOfRerun?: string): void {
  done = what
  instead = insteadOfRerun
}

/**
 * Watch stdout for its reader going away (EPIPE). Node ignores SIGPIPE, so a write to a closed
 * pipe is an 'error' event; oclif swallows it, and a command that goes on writing would go on
 * reading the store for nobody. Once per process.
 */
export function watchStdout(): void {
  if (watching) return
  watching = true
  // oclif's own listener (the one there before this) throws every other error again, as an uncaught
  // exception: `steme log > file` on a full disk ended in a stack trace. This one says it instead.
  for (const listener of process.stdout.listeners('error')) process.stdout.removeListener('error', listener as (e: Error) => void)
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') closed = true
    else if (!failed) {
      failed = true
      stdoutFailed(e)
    }
  })
}

/**
 * A failed write to stderr (`2>>ci.log` on a full disk, a closed stderr) has nowhere to be said,
 * and is no failure of the command: without a listener it was an uncaught error, so a usage error
 * exited 1 instead of 2, and an export that had written its file whole exited 1 too. The result
 * (stdout) and the exit code stay the command's own.
 */
export function tolerateStderr(): void {
  if (process.stderr.listenerCount('error') === 0) process.stderr.on('error', () => undefined)
}

/**
 * A write to stdout failed (ENOSPC, EIO, EFBIG...): said once on stderr (never as JSON on the stdout
 * that failed), and the process ends with exit 1 whatever the command goes on to do, so a script's
 * `steme export > backup.ndjson` never takes a cut-short file for a whole one.
 */
function stdoutFailed(e: NodeJS.ErrnoException): void {
  const reason = e.message.replace(/^[A-Z]+: /, '').replace(/, write$/, '')
  const full = e.code === 'ENOSPC' || e.code === 'EDQUOT' || e.code === 'EFBIG'
  const hint = `${full ? 'free some space where stdout goes, or send it elsewhere' : 'check where stdout goes (the file or device it is redirected to)'}, then run the command again`
  const message = `could not write the output to stdout: ${reason}${e.code ? ` (${e.code})` : ''}; what reached it is incomplete${done ? `. ${done}` : ''}`
  const rerun = done ? (instead ?? 'do not run the command again for this: `steme log` or `steme show <id>` shows what was stored') : undefined
  process.exitCode = renderError(new UserError(message, {code: full ? 'no_space' : 'usage', exit: 1, hint: rerun ? `${rerun}; ${hint.replace(/, then run the command again$/, '')}` : hint}), false)
  process.on('exit', () => {
    if (!process.exitCode) process.exitCode = 1
  })
}

/** Whether an error is writeOut's StdoutFailed: the failure was already said. */
export const isStdoutFailed = (e: unknown): boolean => e instanceof StdoutFailed

/** Whether an error means stdout's reader went away. */
export const isStdoutClosed = (e: unknown): boolean => e instanceof StdoutClosed || (closed && (e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE')

/**
 * Write to stdout, resolving once the text may be followed by more: at once while the reader keeps
 * up, else when it has drained. Rejects with StdoutClosed when the reader has gone.
 */
export async function writeOut(text: string): Promise<void> {
  watchStdout()
  if (closed) throw new StdoutClosed()
  if (failed) throw new StdoutFailed()
  if (text) midLine = !text.endsWith('\n')
  if (!process.stdout.write(text)) {
    // 'close' and 'error' too: a reader that goes away while the write waits never drains it.
    const ac = new AbortController()
    const {signal} = ac
    try {
      await Promise.race(['drain', 'close', 'error'].map((event) => once(process.stdout, event, {signal})))
    } catch {
      // once('drain') rejects on an error event: watchStdout's listener has judged it.
    } finally {
      ac.abort()
    }
  }
  // The error of a failed write comes a tick later.
  await new Promise<void>((r) => setImmediate(r))
  if (closed) throw new StdoutClosed()
  if (failed) throw new StdoutFailed()
}

/**
 * Ends the line a listing cut short by an error left open (`log --json` stops between two of its
 * records), so the error document written after it stands on a line of its own, the last one, where
 * a script can find it, rather than glued to the end of the last record. Nothing when stdout is at
 * the start of a line, or its reader has gone.
 */
export function endPartialLine(): void {
  if (!midLine || closed || failed) return
  midLine = false
  process.stdout.write('\n')
}

/** About how much text one write carries when a listing is written in pieces. */
export const WRITE_CHARS = 1 << 20

/**
 * Writes `{"<key>": [items...]}` item by item, as exactly the text JSON.stringify(value, null, 2)
 * gives for the whole object (what `--json` prints), without holding the array.
 */
export class JsonListWriter {
  private count = 0

  constructor(
    private readonly key: string,
    private readonly write: (text: string) => Promise<void> = writeOut,
  ) {}

  /** Items go out in writes of about WRITE_CHARS: a batch of big records is not one big text as well. */
  async items(values: readonly unknown[]): Promise<void> {
    let text = ''
    for (const v of values) {
      text += `${this.count++ === 0 ? `{\n  ${JSON.stringify(this.key)}: [` : ','}\n    ${JSON.stringify(v, null, 2).replaceAll('\n', '\n    ')}`
      if (text.length >= WRITE_CHARS) {
        await this.write(text)
        text = ''
      }
    }
    if (text) await this.write(text)
  }

  async end(): Promise<void> {
    await this.write(this.count === 0 ? `{\n  ${JSON.stringify(this.key)}: []\n}\n` : '\n  ]\n}\n')
  }
}
