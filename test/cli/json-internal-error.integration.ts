/**
 * A bug under --json: one JSON error document on stdout, code `internal`, as every other failure
 * writes, so a script parsing the output is not left with nothing. The bug comes from the
 * test-only STEME_TEST_THROW hook (the base command throws an unexpected error in the command it
 * names): a real one would get fixed, and then the test would test nothing.
 */
import {afterAll, beforeAll, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
const bug = {STEME_TEST_THROW: 'query'}
beforeAll(() => {
  sb = sandbox('steme-json-internal-')
  expect(sb.run(['init']).code).toBe(0)
  expect(sb.run(['assert', 'a:x', 'p', '1']).code).toBe(0)
})
afterAll(() => sb.cleanup())

it('with --json: exactly one error document, code internal, the message and a hint to report it; exit 1; no stack', () => {
  const r = sb.run(['query', 'a:x', 'p', '--json'], {env: bug})
  expect(r.code).toBe(1)
  const lines = r.stdout.trim().split('\n')
  expect(lines).toHaveLength(1)
  const doc = JSON.parse(lines[0]) as {error: {code: string; message: string; hint: string}}
  expect(Object.keys(doc)).toEqual(['error'])
  expect(doc.error.code).toBe('internal')
  expect(doc.error.message).toMatch(/a bug simulated for tests/)
  expect(doc.error.hint).toMatch(/bug in steme: please report it/)
  expect(r.stdout).not.toMatch(/\n\s+at /)
  // stderr says it as before, for a person.
  expect(r.stderr).toMatch(/^internal error \(a bug in steme, please report it\): .*a bug simulated for tests/)
})

it('with STEME_DEBUG the stack goes to stderr only, never into the JSON document', () => {
  const r = sb.run(['query', 'a:x', 'p', '--json'], {env: {...bug, STEME_DEBUG: '1'}})
  expect(r.code).toBe(1)
  expect(r.stderr).toMatch(/\n\s+at /)
  const doc = JSON.parse(r.stdout) as {error: Record<string, unknown>}
  expect(Object.keys(doc.error).sort()).toEqual(['code', 'hint', 'message'])
  expect(r.stdout).not.toMatch(/\s+at .*\.js:\d+/)
})

it('without --json: nothing on stdout, the bug on stderr, exit 1', () => {
  const r = sb.run(['query', 'a:x', 'p'], {env: bug})
  expect(r.code).toBe(1)
  expect(r.stdout).toBe('')
  expect(r.stderr).toMatch(/^internal error \(a bug in steme, please report it\): /)
})

it('the hook names one command: the others, and the same one without it, run as usual', () => {
  expect(sb.run(['log', '--json'], {env: bug}).code).toBe(0)
  expect(sb.run(['query', 'a:x', 'p', '--json']).code).toBe(0)
})
