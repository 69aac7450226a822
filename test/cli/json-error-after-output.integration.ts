/**
 * An error after part of a --json listing was written (`log --json` streams its records as it
 * reads them): the error document goes on a line of its own after what was written, the last line
 * of stdout, so a script can still read it, and is not glued to the end of the last record. The
 * failure is real: the last record's stored text is not JSON (damage done here by hand), so the
 * scan stops with an integrity error after the records before it were printed.
 */
import {afterAll, beforeAll, expect, it} from 'vitest'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {DuckDBInstance} from '@duckdb/node-api'
import {sandbox, type Sandbox} from '../helpers/cli.js'

const RECORDS = 5000

let sb: Sandbox
beforeAll(async () => {
  sb = sandbox('steme-json-after-output-')
  expect(sb.run(['init']).code).toBe(0)
  const file = join(sb.dir, 'facts.ndjson')
  writeFileSync(file, Array.from({length: RECORDS}, (_, i) => JSON.stringify({subject: `s:${i}`, predicate: 'p', value: i})).join('\n') + '\n')
  expect(sb.run(['ingest', file]).code).toBe(0)
  // The log's last record: read after every other one has been printed.
  const inst = await DuckDBInstance.create(join(sb.dir, '.steme', 'store.duckdb'))
  const c = await inst.connect()
  await c.run(`UPDATE records SET canonical = '{' WHERE id = (SELECT id FROM records ORDER BY hlc DESC, id DESC LIMIT 1)`)
  c.closeSync()
  inst.closeSync()
})
afterAll(() => sb.cleanup())

it('log --json failing part way: what was printed, then the error document alone on the last line; exit 1', () => {
  const r = sb.run(['log', '--json'])
  expect(r.code, r.stderr).toBe(1)
  expect(r.stderr).toMatch(/^error: record [0-9a-f]{64} in the store is damaged: its stored text is not JSON/)
  expect(r.stdout.endsWith('\n')).toBe(true)
  const lines = r.stdout.slice(0, -1).split('\n')
  // Some records were printed before the failure: the listing is cut short, not missing.
  expect(lines[0]).toBe('{')
  expect(lines[1]).toBe('  "records": [')
  expect(lines.length).toBeGreaterThan(10)
  const doc = JSON.parse(lines[lines.length - 1]) as {error: {code: string; message: string; hint: string}}
  expect(Object.keys(doc)).toEqual(['error'])
  expect(doc.error.code).toBe('integrity')
  expect(doc.error.message).toMatch(/JSON/)
  // The line before it is the end of the last record printed, whole.
  expect(lines[lines.length - 2]).toBe('    }')
})

it('log without --json failing part way: the rows printed, nothing added to stdout', () => {
  const r = sb.run(['log'])
  expect(r.code).toBe(1)
  expect(r.stdout).toMatch(/^HLC +ID/)
  expect(r.stdout).not.toMatch(/error/)
  expect(r.stdout.endsWith('\n')).toBe(true)
})
