/**
 * Results written to stdout as they are made, not gathered first: each write waits while the
 * reader is behind, and a reader that stops reading (`steme log | head`) ends the command quietly.
 */
import {once} from 'node:events'

/** Thrown by writeOut once stdout's reader has gone: the command stops, and exits 0 without a word. */
export class StdoutClosed extends Error {
  constructor() {
    super('stdout was closed by its reader')
    this.name = 'StdoutClosed'
  }
}

let closed = false
let watching = false

/**
 * Watch stdout for its reader going away (EPIPE). Node ignores SIGPIPE, so a write to a closed
 * pipe is an 'error' event; oclif swallows it, and a command that goes on writing would go on
 * reading the store for nobody. Once per process.
 */
export function watchStdout(): void {
  if (watching) return
  watching = true
  // Other errors are left to oclif's own listener, which throws them.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') closed = true
  })
}

/** Whether an error means stdout's reader went away. */
export const isStdoutClosed = (e: unknown): boolean => e instanceof StdoutClosed || (closed && (e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE')

/**
 * Write to stdout, resolving once the text may be followed by more: at once while the reader keeps
 * up, else when it has drained. Rejects with StdoutClosed when the reader has gone.
 */
export async function writeOut(text: string): Promise<void> {
  watchStdout()
  if (closed) throw new StdoutClosed()
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
