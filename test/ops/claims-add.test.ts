import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {parseClaims} from '../../src/claims/parse.js'
import {UserError} from '../../src/core/errors.js'
import {claimBlock, claimsAddOp, parseExpect} from '../../src/ops/claims-add.js'
import {claim, makeRepo, tempDir} from '../claims/helpers.js'

const base = {id: 'a', subject: 's', predicate: 'p'}

async function refused(p: Promise<unknown>): Promise<UserError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  )
  expect(e).toBeInstanceOf(UserError)
  expect((e as UserError).exit).toBe(2)
  return e as UserError
}

describe('claims add', () => {
  it('writes a table expect as an inline table, nested too, so the claim stays one block', async () => {
    const value = {a: 1, 'b c': {d: [1, {e: 'x'}]}, none: {}}
    expect(claimBlock({...base, expect: value})).toContain('expect = { a = 1, "b c" = { d = [ 1, { e = "x" } ] }, none = {} }\n')
    const dir = makeRepo({'.steme/claims.toml': claim('first', 's', 'q', 'expect = 1')})
    const res = await claimsAddOp({cwd: dir, ...base, expect: value, severity: 'warn'})
    const cf = parseClaims(readFileSync(res.path, 'utf8'), res.path)
    expect(cf.claims.map((c) => [c.id, c.expect, c.severity])).toEqual([
      ['first', 1, 'error'],
      ['a', value, 'warn'],
    ])
  })

  it('appends to a CRLF claims file with CRLF line ends, not a mix of both', async () => {
    for (const ending of ['expect = 1\r\n', 'expect = 1 # no newline at the end']) {
      const dir = makeRepo({'.steme/claims.toml': `[[claim]]\r\nid = "first"\r\nsubject = "s"\r\npredicate = "q"\r\n${ending}`})
      const res = await claimsAddOp({cwd: dir, ...base, expect: 2})
      const text = readFileSync(res.path, 'utf8')
      expect(text.replaceAll('\r\n', '')).not.toContain('\n')
      expect(text.endsWith('[[claim]]\r\nid = "a"\r\nsubject = "s"\r\npredicate = "p"\r\nexpect = 2\r\n')).toBe(true)
      expect(parseClaims(text, res.path).claims.map((c) => c.id)).toEqual(['first', 'a'])
    }
  })

  it('refuses null (TOML has none), nested too, instead of dropping it', async () => {
    const dir = tempDir()
    for (const value of [null, [1, null], {a: null}]) {
      const e = await refused(claimsAddOp({cwd: dir, ...base, expect: value}))
      expect(e.message).toBe('--expect: TOML has no null, so a claim cannot expect one')
      expect(e.hint).toMatch(/--compare absent/)
    }
    expect(existsSync(join(dir, '.steme'))).toBe(false)
  })

  it('reports a problem of the new claim as such, not at a line the user\'s file does not have', async () => {
    const old = claim('a', 's', 'p', 'expect = 1') + '\n# padding\n'.repeat(30)
    const dir = makeRepo({'.steme/claims.toml': old})
    const path = join(dir, '.steme', 'claims.toml')
    const dup = await refused(claimsAddOp({cwd: dir, ...base, expect: 2}))
    expect(dup.message).toBe(`cannot add claim "a" to ${path}: duplicate id (first used at line 1)`)
    expect(dup.at).toBeUndefined()
    const absent = await refused(claimsAddOp({cwd: dir, ...base, id: 'b', expect: 2, compare: 'absent'}))
    expect(absent.message).toBe(`cannot add claim "b" to ${path}: expect is not used with absent: remove it, or use another comparison`)
    expect(readFileSync(path, 'utf8')).toBe(old)
  })

  it('a problem already in the file is reported at its line, as verify reports it', async () => {
    const dir = makeRepo({'.steme/claims.toml': '# notes\n' + claim('x', 's', 'p', 'expect = 1\ncompare = "near"')})
    const e = await refused(claimsAddOp({cwd: dir, ...base, expect: 1}))
    expect(e.message).toBe(`${join(dir, '.steme', 'claims.toml')}:7: claim #1 "x": unknown comparison "near"`)
  })

  it('runs verify\'s lens check: an unknown lens is refused and nothing is written', async () => {
    const old = claim('first', 's', 'q', 'expect = 1')
    const dir = makeRepo({'.steme/claims.toml': old})
    const path = join(dir, '.steme', 'claims.toml')
    const e = await refused(claimsAddOp({cwd: dir, ...base, expect: 1, lens: 'nope'}))
    expect(e.message).toMatch(new RegExp(`^cannot add claim "a" to ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: unknown lens "nope"`))
    expect(e.hint).toMatch(/^known lenses: .*recency/)
    expect(readFileSync(path, 'utf8')).toBe(old)
    // A new file is not created either.
    const fresh = tempDir()
    await refused(claimsAddOp({cwd: fresh, ...base, expect: 1, lens: 'nope'}))
    expect(existsSync(join(fresh, '.steme'))).toBe(false)
    // A lens that exists is written.
    expect((await claimsAddOp({cwd: fresh, ...base, expect: 1, lens: 'recency'})).claim.lens).toBe('recency')
  })
})

describe('--expect as typed', () => {
  it.each([
    ['true', true],
    ['20', 20],
    ['1.5', 1.5],
    ['-3', -3],
    ['["a","b"]', ['a', 'b']],
    ['{"a":1}', {a: 1}],
    ['null', null],
    ['20.9.0', '20.9.0'],
    ['hello', 'hello'],
  ])('%s is %j', (text, value) => {
    expect(parseExpect(text)).toEqual({value})
  })

  it.each([
    ['20.10', '20.1'],
    ['1.10', '1.1'],
    ['12345678901234567890', '12345678901234567000'],
    ['1e3', '1000'],
    ['1e400', 'out of range'],
  ])('the number %s, which JSON would change, stays the text typed, with a note', (text, read) => {
    expect(parseExpect(text)).toEqual({value: text, note: `--expect ${text} was kept as the text "${text}": read as a JSON number it would be ${read}`})
  })

  it('refuses such a number inside an array or table, where the text cannot be kept', () => {
    expect(() => parseExpect('["20.10", 1.10]')).toThrow('--expect: the number 1.10 in it would be read as 1.1')
    expect(() => parseExpect('{"v": 12345678901234567890}')).toThrow(/would be read as 12345678901234567000/)
    expect(parseExpect('{"v": "1.10", "n": [1.5, -2, 3e-7]}')).toEqual({value: {v: '1.10', n: [1.5, -2, 3e-7]}})
  })

  it('refuses a key given twice in a table, which JSON.parse would silently drop', () => {
    expect(() => parseExpect('{"node": "20", "node": "22"}')).toThrow('--expect: the key "node" appears twice in one object; JSON keeps only the last, silently')
    expect(parseExpect('{"a": {"node": 1}, "node": 2}')).toEqual({value: {a: {node: 1}, node: 2}})
  })
})
