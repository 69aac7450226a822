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
    const id = sb.json<{records: Array<{id: string; subject: string}>}>(['log', subject]).records[0]
    expect(id.subject).toBe(subject)
    const show = sb.run(['show', id.id]).stdout
    expect(show).not.toMatch(CONTROLS)
    expect(show).toContain('"source": "s\\u001b[8m\\u202e"')
  })
})
