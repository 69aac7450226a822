/**
 * A bug under --json: one JSON error document on stdout, code `internal`, as every other failure
 * writes, so a script parsing the output is not left with nothing. The bug is real: a store file
 * whose stored record text is not JSON (an invariant steme keeps on every write, broken here by
 * hand) makes the commands that read records fail with an unexpected exception.
 */
import {afterAll, beforeAll, expect, it} from 'vitest'
import {join} from 'node:path'
import {DuckDBInstance} from '@duckdb/node-api'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
beforeAll(async () => {
  sb = sandbox('steme-json-internal-')
  expect(sb.run(['init']).code).toBe(0)
  expect(sb.run(['assert', 'a:x', 'p', '1']).code).toBe(0)
  // The record's stored text, which steme writes only after checking its id and signature over it.
  const inst = await DuckDBInstance.create(join(sb.dir, '.steme', 'store.duckdb'))
  const c = await inst.connect()
  await c.run(`UPDATE records SET canonical = '{'`)
  c.closeSync()
  inst.closeSync()
})
afterAll(() => sb.cleanup())

it('with --json: exactly one error document, code internal, the message and a hint to report it; exit 1; no stack', () => {
  const r = sb.run(['query', 'a:x', 'p', '--json'])
  expect(r.code).toBe(1)
  const lines = r.stdout.trim().split('\n')
  expect(lines).toHaveLength(1)
  const doc = JSON.parse(lines[0]) as {error: {code: string; message: string; hint: string}}
  expect(Object.keys(doc)).toEqual(['error'])
  expect(doc.error.code).toBe('internal')
  expect(doc.error.message).toMatch(/JSON/)
  expect(doc.error.hint).toMatch(/bug in steme: please report it/)
  expect(r.stdout).not.toMatch(/\n\s+at /)
  // stderr says it as before, for a person.
  expect(r.stderr).toMatch(/^internal error \(a bug in steme, please report it\): .*JSON/)
})

it('with STEME_DEBUG the stack goes to stderr only, never into the JSON document', () => {
  const r = sb.run(['query', 'a:x', 'p', '--json'], {env: {STEME_DEBUG: '1'}})
  expect(r.code).toBe(1)
  expect(r.stderr).toMatch(/\n\s+at /)
  const doc = JSON.parse(r.stdout) as {error: Record<string, unknown>}
  expect(Object.keys(doc.error).sort()).toEqual(['code', 'hint', 'message'])
  expect(r.stdout).not.toMatch(/\s+at .*\.js:\d+/)
})

it('without --json: nothing on stdout, the bug on stderr, exit 1', () => {
  const r = sb.run(['query', 'a:x', 'p'])
  expect(r.code).toBe(1)
  expect(r.stdout).toBe('')
  expect(r.stderr).toMatch(/^internal error \(a bug in steme, please report it\): /)
})
