/** The daemon's log on a terminal: its warnings and errors as lines a person reads, with the secrets the JSON log keeps out kept out. */
import {Writable} from 'node:stream'
import {redactUrls} from '../core/redact.js'
import {visible} from '../core/text.js'
import {redactTokens} from './errors.js'

/** pino's numeric levels, as the JSON log writes them. */
const LEVELS: Record<number, string> = {10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal'}

interface Entry {
  level?: number
  time?: number
  msg?: string
  reqId?: string
  err?: {type?: string; message?: string; stack?: string}
}

/**
 * One JSON log entry as a terminal line: the time, the level, the message, the request it is
 * about (the id a client was told in its 500) and the error, if any. Tokens and URL userinfo
 * are redacted; control characters from the error's text (a path, a record) are shown escaped,
 * never acted on; an error's further lines are indented under it. With STEME_DEBUG the stack follows.
 */
export function formatLogEntry(entry: Entry, opts: {debug?: boolean} = {}): string {
  const time = typeof entry.time === 'number' ? new Date(entry.time).toTimeString().slice(0, 8) + ' ' : ''
  const level = LEVELS[entry.level ?? 0] ?? 'log'
  let text = `${entry.msg ?? ''}${entry.reqId ? ` (request id ${entry.reqId})` : ''}`
  const err = entry.err
  if (err?.message) text += `: ${err.message}`
  if (opts.debug && err?.stack) text += '\n' + err.stack.split('\n').filter((l) => /^\s+at /.test(l)).join('\n')
  const shown = redactTokens(redactUrls(text))
    .split('\n')
    .map((l) => visible(l))
    .join('\n    ')
  return `${time}${level}: ${shown}`
}

/**
 * A stream for the daemon's logger that prints each entry as a terminal line through `print`
 * (set later to draw above the live status line; until then, and after it stops, straight to
 * stderr). Lines that are not JSON (none are expected) are printed as they came, redacted.
 */
export function terminalLog(): {stream: Writable; printVia(print: ((line: string) => void) | undefined): void} {
  const direct = (line: string): void => void process.stderr.write(line + '\n')
  let print: (line: string) => void = direct
  let partial = ''
  const debug = Boolean(process.env.STEME_DEBUG)
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, _enc, done) {
      const lines = (partial + chunk.toString()).split('\n')
      partial = lines.pop() ?? ''
      for (const raw of lines) {
        if (!raw.trim()) continue
        let line: string
        try {
          line = formatLogEntry(JSON.parse(raw) as Entry, {debug})
        } catch {
          line = visible(redactTokens(redactUrls(raw)))
        }
        print(line)
      }
      done()
    },
  })
  return {
    stream,
    printVia(p) {
      print = p ?? direct
    },
  }
}
