import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
beforeAll(() => {
  sb = sandbox()
})
afterAll(() => sb.cleanup())

const add = (...args: string[]) => sb.run(['claims', 'add', '--subject', 'repo:node', '--predicate', 'version', ...args])
const file = () => readFileSync(join(sb.dir, '.steme', 'claims.toml'), 'utf8')

describe('steme claims add', () => {
  it('keeps --expect 20.10 as typed, says so on stderr, and verify then compares it as a version', () => {
    const r = add('--id', 'node', '--compare', 'gte', '--expect', '20.10')
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('note: --expect 20.10 was kept as the text "20.10": read as a JSON number it would be 20.1\n')
    expect(file()).toContain('expect = "20.10"\n')
    // As the number 20.1 it was, 20.9.0 passed.
    writeFileSync(join(sb.dir, '.nvmrc'), '20.9.0\n')
    const v = sb.run(['verify', '--json'])
    expect(v.code).toBe(1)
    expect(JSON.parse(v.stdout).verdicts[0]).toMatchObject({id: 'node', status: 'CONFLICT'})
  })

  it('refuses an unknown lens with the usual error and hint, and leaves the file as it was', () => {
    const before = file()
    const r = add('--id', 'other', '--expect', '1', '--lens', 'nope')
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^error: cannot add claim "other" to .*claims\.toml: unknown lens "nope"/m)
    expect(r.stderr).toMatch(/^hint: known lenses: /m)
    expect(file()).toBe(before)
  })
})
