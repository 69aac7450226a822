/** The daemon's log lines on a terminal: what they say, and the secrets and controls they keep out. */
import {describe, expect, it} from 'vitest'
import {formatLogEntry, terminalLog} from '../../src/serve/terminal-log.js'

const TOKEN = 'stm_AbCdEfGhIjKl_' + 'x'.repeat(43)

describe('formatLogEntry', () => {
  it('a failed request: the level, the message, the request id the client was told, the error', () => {
    const line = formatLogEntry({level: 50, time: Date.UTC(2026, 0, 2, 3, 4, 5), reqId: 'abc-7', msg: 'request failed', err: {type: 'Error', message: 'disk on fire', stack: 'Error: disk on fire\n    at f (x.js:1:1)'}})
    expect(line).toMatch(/^\d\d:\d\d:\d\d error: request failed \(request id abc-7\): disk on fire$/)
    // The stack only when asked for (STEME_DEBUG), indented under the line.
    expect(formatLogEntry({level: 50, msg: 'request failed', err: {message: 'disk on fire', stack: 'Error: disk on fire\n    at f (x.js:1:1)'}}, {debug: true})).toBe('error: request failed: disk on fire\n        at f (x.js:1:1)')
  })

  it('a warning without a request: the level and the message', () => {
    expect(formatLogEntry({level: 40, msg: 'refused 3 connections'})).toBe('warn: refused 3 connections')
  })

  it('tokens and URL passwords are redacted, as in answers; control characters are shown, not acted on', () => {
    const line = formatLogEntry({level: 50, msg: 'request failed', err: {message: `cannot reach postgres://steme:hunter2@db/steme with ${TOKEN}\x1b[2J\nsecond line`}})
    expect(line).not.toContain('hunter2')
    expect(line).not.toContain(TOKEN)
    expect(line).toContain('postgres://steme:***@db/steme')
    expect(line).toContain('[redacted]')
    expect(line).not.toContain('\x1b')
    expect(line).toContain('\\u001b[2J')
    // A message's further lines are indented under the first.
    expect(line).toMatch(/\n {4}second line$/)
  })
})

describe('terminalLog', () => {
  it('prints each JSON entry written to it as one line, also when an entry comes in pieces', async () => {
    const t = terminalLog()
    const printed: string[] = []
    t.printVia((l) => printed.push(l))
    const entry = JSON.stringify({level: 40, msg: 'first'}) + '\n' + JSON.stringify({level: 50, msg: 'second'})
    await new Promise<void>((r) => t.stream.write(entry.slice(0, 30), () => r()))
    await new Promise<void>((r) => t.stream.write(entry.slice(30) + '\n', () => r()))
    expect(printed).toEqual(['warn: first', 'error: second'])
  })
})
