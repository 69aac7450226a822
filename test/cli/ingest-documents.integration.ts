/** steme ingest of one JSON document over many lines, as steme's own --json output is. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {sandbox, type Sandbox} from '../helpers/cli.js'

describe('steme log --json piped into steme ingest', () => {
  let sb: Sandbox
  beforeAll(() => {
    sb = sandbox()
    expect(sb.run(['init']).code).toBe(0)
    expect(sb.run(['init', '--dir', join(sb.dir, 'copy')]).code).toBe(0)
  })
  afterAll(() => sb.cleanup())

  it('stores every record it lists, so the copy exports the same bytes; the same output in a .json file too', () => {
    const a = sb.run(['assert', 'drug:aspirin', 'dose', '{"mg": 75}', '-c', '0.8', '-s', 'lab:1']).stdout.trim()
    expect(sb.run(['assert', 'drug:aspirin', 'dose', '100', '--evidence', a.slice(0, 8)]).code).toBe(0)
    expect(sb.run(['vote', a, 'up']).code).toBe(0)
    expect(sb.run(['retract', '--source', 'lab:1', '--reason', 'mislabelled']).code).toBe(0)
    const log = sb.run(['log', '--json'])
    expect(log.code).toBe(0)
    const copy = join(sb.dir, 'copy')
    const piped = sb.run(['ingest', '-', '--store', copy], {input: log.stdout})
    expect({code: piped.code, stdout: piped.stdout, stderr: piped.stderr}).toEqual({code: 0, stderr: '', stdout: '4 added, 0 already present, 0 rejected (4 json records read)\n'})
    expect(sb.run(['export', '--store', copy]).stdout).toBe(sb.run(['export']).stdout)

    writeFileSync(join(sb.dir, 'log.json'), log.stdout)
    const again = sb.run(['ingest', 'log.json', '--store', copy])
    expect({code: again.code, stdout: again.stdout, stderr: again.stderr}).toEqual({code: 0, stderr: '', stdout: '0 added, 4 already present, 0 rejected (4 json records read)\n'})
  })

  it('stores the records of `steme log --json | jq ".records[]"`: objects one after another, each over many lines', () => {
    const log = JSON.parse(sb.run(['log', '--json']).stdout) as {records: unknown[]}
    const pretty = log.records.map((r) => JSON.stringify(r, null, 2)).join('\n') + '\n'
    const copy = join(sb.dir, 'copy2')
    expect(sb.run(['init', '--dir', copy]).code).toBe(0)
    const piped = sb.run(['ingest', '-', '--store', copy], {input: pretty})
    expect({code: piped.code, stdout: piped.stdout, stderr: piped.stderr}).toEqual({code: 0, stderr: '', stdout: `${log.records.length} added, 0 already present, 0 rejected (${log.records.length} json records read)\n`})
    expect(sb.run(['export', '--store', copy]).stdout).toBe(sb.run(['export']).stdout)
  })

  it('stores the records of `steme log --json | jq -c .`: the same document on one line, piped or in a .json file', () => {
    const log = JSON.parse(sb.run(['log', '--json']).stdout) as {records: unknown[]}
    const compact = JSON.stringify(log) + '\n'
    expect(compact.startsWith('{"records":')).toBe(true)
    const copy = join(sb.dir, 'copy3')
    expect(sb.run(['init', '--dir', copy]).code).toBe(0)
    const piped = sb.run(['ingest', '-', '--store', copy], {input: compact})
    const n = log.records.length
    expect({code: piped.code, stdout: piped.stdout, stderr: piped.stderr}).toEqual({code: 0, stderr: '', stdout: `${n} added, 0 already present, 0 rejected (${n} json records read)\n`})
    expect(sb.run(['export', '--store', copy]).stdout).toBe(sb.run(['export']).stdout)
    writeFileSync(join(sb.dir, 'compact.json'), compact)
    const again = sb.run(['ingest', 'compact.json', '--store', copy])
    expect({code: again.code, stdout: again.stdout, stderr: again.stderr}).toEqual({code: 0, stderr: '', stdout: `0 added, ${n} already present, 0 rejected (${n} json records read)\n`})
  })

  it('a line starting {"records": that is a record, damaged, or one of many lines is read as NDJSON, as before', () => {
    const copy = join(sb.dir, 'copy4')
    expect(sb.run(['init', '--dir', copy]).code).toBe(0)
    // A plain fact with a records field of its own: one record, not a list of them.
    const fact = '{"records":[1,2],"subject":"s:r","predicate":"p","value":1}\n'
    const one = sb.run(['ingest', '-', '--store', copy], {input: fact})
    const asNdjson = sb.run(['ingest', '-', '--format', 'ndjson', '--store', copy], {input: fact})
    expect({code: one.code, stdout: one.stdout, stderr: one.stderr}).toEqual({code: asNdjson.code, stdout: asNdjson.stdout, stderr: asNdjson.stderr})
    expect(one.stdout).toContain('(1 ndjson record read)')
    // A line cut short is one rejected line, not an invalid document.
    const cut = sb.run(['ingest', '-', '--store', copy], {input: '{"records":[{"subject":"s:x"\n'})
    expect(cut.code).toBe(1)
    expect(cut.stdout).toBe('0 added, 0 already present, 1 rejected (1 ndjson record read)\n')
    expect(cut.stderr).toContain('stdin:1: rejected')
    // Two lines: NDJSON, each line its own record, as always.
    const two = sb.run(['ingest', '-', '--store', copy], {input: '{"records":[]}\n{"subject":"s:2","predicate":"p","value":2}\n'})
    expect(two.stdout).toBe('1 added, 0 already present, 1 rejected (2 ndjson records read)\n')
  })
})
