/** What the CLI prints of fields that arrived from elsewhere, and what it makes of text typed on the command line. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
beforeAll(() => {
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
})
afterAll(() => sb.cleanup())

const CONTROLS = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/

describe('human output of fields holding control characters', () => {
  beforeAll(() => {
    // Through ingest, as a record from a file or a peer arrives: the format allows these characters.
    const fact = {subject: 'esc2:\x1b[2Jx', predicate: 'pr\x1b[1m', value: 'x', source: 's\x1b[8m\u202e'}
    expect(sb.run(['ingest', '-'], {input: JSON.stringify(fact) + '\n' + JSON.stringify({subject: 'nl', predicate: 'a\nb', value: 1}) + '\n'}).code).toBe(0)
  })

  it('log escapes them, one row per record', () => {
    const out = sb.run(['log']).stdout
    expect(out).not.toMatch(CONTROLS)
    expect(out).toContain('esc2:\\u001b[2Jx pr\\u001b[1m = "x" (c=1, s\\u001b[8m\\u202e)')
    expect(out.trim().split('\n')).toHaveLength(3)
    expect(out).toContain('nl a\\nb = 1')
  })

  it('query, query --all --explain, show and conflicts escape them too; --json keeps the text', () => {
    const subject = 'esc2:\x1b[2Jx'
    for (const args of [['query', subject], ['query', subject, '--all', '--explain'], ['conflicts', '--min-score', '0']]) {
      const r = sb.run(args)
      expect(r.code).toBe(0)
      expect(r.stdout).not.toMatch(CONTROLS)
    }
    expect(sb.run(['query', subject]).stdout).toContain('esc2:\\u001b[2Jx')
    const id = sb.json<{records: Array<{id: string; subject: string; agent: string}>}>(['log', subject]).records[0]
    expect(id.subject).toBe(subject)
    const show = sb.run(['show', id.id]).stdout
    expect(show).not.toMatch(CONTROLS)
    expect(show).toContain('"source": "s\\u001b[8m\\u202e"')
    // The record's own layout keeps its line breaks: one field a line, not one line of \n escapes.
    expect(show.split('\n').slice(0, 2)).toEqual(['{', `  "agent": "${id.agent}",`])
  })

  it('show prints the record as indented JSON, one field a line, a newline in a field escaped', () => {
    const rec = sb.json<{records: Array<{id: string}>}>(['log', 'nl']).records[0]
    const lines = sb.run(['show', rec.id]).stdout.split('\n')
    expect(lines[0]).toBe('{')
    expect(lines).toContain('  "predicate": "a\\nb",')
    expect(lines).toContain(`  "id": "${rec.id}",`)
  })
})

describe('steme assert: what is typed on the command line', () => {
  const stored = (subject: string) => sb.json<{records: Array<{subject: string; value: unknown; source?: string}>}>(['log', subject]).records

  it('stores 1.10 as the number 1.1 with a note; refuses a duplicate key, broken JSON and null with exit 2; --string stores text as is', () => {
    const r = sb.run(['assert', 'v:1', 'version', '1.10'])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('note: 1.10 was stored as the number 1.1, its JSON form; to keep the text as typed, pass --string')
    for (const [text, message] of [['{"a":1,"a":2}', 'the key "a" appears twice'], ['[1,2', 'starts like JSON but is not JSON'], ['null', 'cannot hold null']]) {
      const bad = sb.run(['assert', 'v:1', 'p', text])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toContain(message)
    }
    expect(sb.run(['assert', 'v:1', 'raw', '[1,2', '--string']).code).toBe(0)
    expect(sb.run(['assert', 'v:1', 'text', '1.10', '--string']).code).toBe(0)
    expect(stored('v:1').map((a) => a.value)).toEqual([1.1, '[1,2', '1.10'])
  })

  it('refuses --confidence 0x1 and an empty valid range, with exit 2', () => {
    const hex = sb.run(['assert', 'c:1', 'p', '1', '--confidence', '0x1'])
    expect(hex.code).toBe(2)
    expect(hex.stderr).toContain('--confidence must be a decimal number in [0, 1] such as 0.9, got "0x1"')
    const empty = sb.run(['assert', 'c:1', 'p', '1', '--valid-from', '2024-01-01', '--valid-to', '2024-01-01'])
    expect(empty.code).toBe(2)
    expect(empty.stderr).toContain('the range is empty')
    expect(stored('c:1')).toEqual([])
  })

  it('refuses a control character in the subject', () => {
    const r = sb.run(['assert', 'esc3:\x1b[2Jx', 'p', 'x'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('subject holds a control character (\\u001b at character 6)')
  })

  it('stores names in NFC with a note; query and log warn about records under the other form', () => {
    const nfd = 'drug:cafe\u0301'
    const a = sb.run(['assert', nfd, 'p', '1', '--source', 'lab:cafe\u0301'])
    expect(a.code).toBe(0)
    expect(a.stderr).toContain('note: subject was stored as "drug:café" in Unicode NFC')
    expect(a.stderr).toContain('note: source was stored as "lab:café" in Unicode NFC')
    expect(stored(nfd.normalize('NFC')).map((r) => [r.subject, r.source])).toEqual([['drug:caf\u00e9', 'lab:caf\u00e9']])
    // A record under the NFD form arrives from elsewhere, unchanged.
    expect(sb.run(['ingest', '-'], {input: JSON.stringify({subject: nfd, predicate: 'p', value: 2}) + '\n'}).code).toBe(0)
    for (const args of [['query', 'drug:caf\u00e9'], ['log', 'drug:caf\u00e9'], ['query', 'drug:caf\u00e9', '--json']]) {
      const r = sb.run(args)
      expect(r.code).toBe(0)
      expect(r.stderr).toContain("Unicode NFD (accents as separate combining characters), so it is another subject; to see them, type it as $'drug:cafe\\u0301'")
    }
    expect(sb.run(['query', nfd]).stderr).toContain("Unicode NFC (accents composed), so it is another subject; to see them, type it as $'drug:caf\\u00e9'")
    expect(sb.run(['query', 'v:1']).stderr).toBe('')
  })
})
