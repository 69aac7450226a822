import {describe, expect, it} from 'vitest'
import {readFileSync} from 'node:fs'
import {parseClaims} from '../../src/claims/parse.js'
import {UserError} from '../../src/core/errors.js'

const CLAIM = `[[claim]]
id = "tsconfig-strict"
subject = "repo:tsconfig"
predicate = "compilerOptions.strict"
expect = true
why = "strict mode catches null bugs"
`

function fails(text: string): UserError {
  try {
    parseClaims(text, '.steme/claims.toml')
  } catch (e) {
    expect(e).toBeInstanceOf(UserError)
    expect((e as UserError).exit).toBe(2)
    return e as UserError
  }
  throw new Error('expected the claims file to be refused')
}

describe('claims file', () => {
  it('parses claims and extracts with defaults', () => {
    const cf = parseClaims(`${CLAIM}\n[[extract]]\nfiles = "tsconfig.json"\njson = "compilerOptions.strict"\nsubject = "repo:tsconfig"\npredicate = "compilerOptions.strict"\n`, 'c.toml')
    expect(cf.claims).toHaveLength(1)
    expect(cf.claims[0]).toMatchObject({id: 'tsconfig-strict', compare: 'eq', severity: 'error', from: 'any', expect: true, line: 1})
    expect(cf.extracts[0]).toMatchObject({kind: 'json', files: ['tsconfig.json'], path: ['compilerOptions', 'strict'], count: false, line: 8})
    expect(cf.settings.builtins).toBe(true)
  })

  it('reports malformed TOML with line and column', () => {
    const e = fails('[[claim]]\nid = "a"\nsubject = \n')
    expect(e.message).toMatch(/\.steme\/claims\.toml:3:\d+: not valid TOML/)
  })

  it.each([
    ['a string left open', '[[claim]]\nid = "a\nsubject = "s"\n', '2:8', 'a string is not closed: the line ends before its closing quote', 'add the closing quote'],
    ['a string left open, CRLF', '[[claim]]\r\nid = "a"\r\nwhy = \'x\r\n', '3:9', 'a string is not closed: the line ends before its closing quote', 'add the closing quote'],
    ['text without quotes', '[[claim]]\nid = a\n', '2:6', '`a` is not a TOML value: text needs quotes', 'write "a"'],
    ['a version without quotes', CLAIM.replace('expect = true', 'expect = 20.19.1  # node'), '5:15', '20.19.1 is not a TOML number: a version, or any other text, needs quotes', 'write "20.19.1"'],
    ['a key set twice', CLAIM + 'id = "b"\n', '7:1', 'id is set twice in the same table', 'each claim starts with its own [[claim]] line'],
  ])('says what to fix for a common TOML slip: %s', (_, text, at, what, hint) => {
    const e = fails(text)
    expect(e.message).toBe(`.steme/claims.toml:${at}: not valid TOML: ${what}`)
    expect(e.hint).toContain(hint)
    // Other syntax errors keep the parser's words, less its "Invalid TOML document" prefix.
    expect(fails('[[claim]]\nid = \n').message).toBe('.steme/claims.toml:2:6: not valid TOML: invalid value')
  })

  it.each([
    ['unknown comparison', CLAIM.replace('expect = true', 'expect = true\ncompare = "roughly"'), /unknown comparison "roughly"/],
    ['unknown severity', CLAIM + 'severity = "fatal"\n', /unknown severity "fatal"/],
    // Dotted keys make tables, which have no prototype: found by the claims fuzzing.
    ['a table as comparison', CLAIM.replace('expect = true', 'expect = true\ncompare.A = "in"'), /unknown comparison \{"A":"in"\}/],
    ['a table as severity', CLAIM + 'severity.x = 1\n', /unknown severity \{"x":1\}/],
    ['a table as from', CLAIM + 'from.y = [1]\n', /unknown from \{"y":\[1\]\}/],
    ['missing id', CLAIM.replace('id = "tsconfig-strict"\n', ''), /needs an "id"/],
    ['duplicate id', CLAIM + '\n' + CLAIM, /duplicate id \(first used at line 1\)/],
    ['missing expect', CLAIM.replace('expect = true\n', ''), /needs an "expect"/],
    ['in without array', CLAIM.replace('expect = true', 'expect = 1\ncompare = "in"'), /array of allowed values/],
    ['invalid matches regex', CLAIM.replace('expect = true', 'expect = "(unclosed"\ncompare = "matches"'), /invalid regular expression/],
    ['unknown field', CLAIM + 'expected = 1\n', /unknown field "expected"/],
    // A dotted key makes a table without a prototype: Number() threw on it (found by the claims fuzzing).
    ['a table as max_file_bytes', CLAIM + '\n[settings]\nmax_file_bytes.W = 65536\n', /max_file_bytes must be a positive integer/],
    ['a string as max_file_bytes', CLAIM + '\n[settings]\nmax_file_bytes = "65536"\n', /max_file_bytes must be a positive integer/],
    ['a zero regex_timeout_ms', CLAIM + '\n[settings]\nregex_timeout_ms = 0\n', /regex_timeout_ms must be a positive integer/],
    ['unknown table', '[claims]\nid = 1\n', /unknown top-level key or table/],
    ['nan as expect', CLAIM.replace('expect = true', 'expect = [1, nan]'), /holds nan or inf/],
    ['inf as expect', CLAIM.replace('expect = true', 'expect = -inf\ncompare = "gte"'), /holds nan or inf/],
    // A field of the wrong type is not a missing one.
    ['an integer id', CLAIM.replace('id = "tsconfig-strict"', 'id = 5'), /claim #1: "id" must be a string, got an integer$/],
    ['a boolean subject', CLAIM.replace('subject = "repo:tsconfig"', 'subject = true'), /"subject" must be a string, got a boolean$/],
    ['an array predicate', CLAIM.replace('predicate = "compilerOptions.strict"', 'predicate = ["a"]'), /"predicate" must be a string, got an array$/],
    ['a table as why', CLAIM.replace('why = "strict mode catches null bugs"', 'why.x = 1'), /"why" must be a string, got a table$/],
    ['a float as lens', CLAIM + 'lens = 1.5\n', /"lens" must be a string \(a lens name\), got a float$/],
    ['an empty subject', CLAIM.replace('subject = "repo:tsconfig"', 'subject = ""'), /needs a "subject" string/],
    // present and absent ignore expect: one given there is a comparison the user meant and would not get.
    ['expect with absent', CLAIM.replace('expect = true', 'expect = "whatever"\ncompare = "absent"'), /claims\.toml:5: claim #1 "tsconfig-strict": expect is not used with absent: remove it, or use another comparison$/],
    ['expect with present', CLAIM.replace('expect = true', 'expect = false\ncompare = "present"'), /expect is not used with present/],
  ])('refuses %s', (_name, text, re) => {
    expect(fails(text).message).toMatch(re)
  })

  const extract = (body: string) => `[[extract]]\nsubject = "s"\npredicate = "p"\n${body}\n`
  it.each([
    ['invalid regex', extract('files = "*.ts"\nregex = "a(b"'), /invalid regular expression/],
    ['regex without a capture group', extract('files = "*.ts"\nregex = "abc"'), /one capture group/],
    // Only the first group would be observed.
    ['regex with two capture groups', extract('files = "*.ts"\nregex = "v=(\\\\d)\\\\.(\\\\d)"'), /has 2 capture groups: it needs exactly one capture group \(use \(\?:\.\.\.\) for the others\)/],
    ['an integer as files', extract('files = 3\nregex = "(a)"'), /"files" must be a glob or an array of globs, got an integer/],
    ['a number among files', extract('files = ["*.ts", 1]\nregex = "(a)"'), /"files" must be a glob or an array of globs, got an array holding an integer/],
    ['no files', extract('regex = "(a)"'), /needs "files"/],
    ['an integer subject', '[[extract]]\nsubject = 1\npredicate = "p"\nfiles = "a"\nregex = "(a)"\n', /extract #1: "subject" must be a string, got an integer/],
    ['a boolean regex', extract('files = "a"\nregex = true'), /"regex" must be a string, got a boolean/],
    ['two kinds', extract('files = "a.json"\njson = "a"\nyaml = "a"'), /give exactly one/],
    ['no kind', extract('files = "a.json"'), /needs one of json, yaml, toml/],
    ['a glob escaping the repo', extract('files = "../secrets/*.json"\njson = "a"'), /escapes the repo/],
    ['an absolute glob', extract('files = "/etc/passwd"\nregex = "(.*)"'), /is absolute/],
    ['count on json', extract('files = "a.json"\njson = "a"\ncount = true'), /only applies to regex/],
    ['a bad path', extract('files = "a.json"\njson = "a..b"'), /invalid json path/],
  ])('refuses an extract with %s', (_name, text, re) => {
    expect(fails(text).message).toMatch(re)
  })

  it('accepts count = true with any number of capture groups', () => {
    const cf = parseClaims(extract('files = "**/*"\nregex = "BEGIN PRIVATE KEY"\ncount = true') + extract('files = "**/*"\nregex = "BEGIN (RSA|EC) (PRIVATE|PUBLIC) KEY"\ncount = true'), 'c.toml')
    expect(cf.extracts.map((x) => x.count)).toEqual([true, true])
  })

  it('accepts one capture group among non-capturing ones', () => {
    expect(parseClaims(extract('files = "a"\nregex = "v=(?:x|y)(\\\\d+)(?:z)?"'), 'c.toml').extracts[0].regex!.source).toBe('v=(?:x|y)(\\d+)(?:z)?')
  })

  it('names the line of a misplaced top-level key (found by fuzzing: these said line 1, or no line)', () => {
    expect(fails('# comment\n\nclaim = 1\n').message).toMatch(/claims\.toml:3: "claim": must be an array of tables/)
    expect(fails(CLAIM + '\n[other]\nx = 1\n').message).toMatch(/claims\.toml:8: "other": unknown top-level key/)
    expect(fails('\nexpect = true\n').at).toEqual({line: 2})
  })

  it('keeps each error on one line when the input holds line breaks (found by fuzzing)', () => {
    const texts = [
      CLAIM.replace('expect = true', 'expect = "^19\\n)J"\ncompare = "matches"'),
      extract('files = "*.ts"\nregex = "a(\\r\\nb"'),
      CLAIM.replace('expect = true', 'expect = true\ncompare = "round\\nly"'),
    ]
    for (const text of texts) {
      let message = ''
      try {
        parseClaims(text, '.steme/claims.toml')
      } catch (e) {
        message = (e as Error).message
      }
      expect(message, text).toMatch(/^\.steme\/claims\.toml:\d+: /)
      expect(message, text).not.toMatch(/[\r\n]/)
      expect(message, text).toMatch(/\\[rn]/)
    }
  })

  it('names the line of the field at fault, or of its table when the field is missing', () => {
    const second = (edit: (c: string) => string) => fails(CLAIM + '\n' + edit(CLAIM.replace('tsconfig-strict', 'b')))
    // The second claim's header is line 8; its fields follow: id 9, subject 10, predicate 11, expect 12, why 13.
    expect(second((c) => c.replace('expect = true', 'expect = true\ncompare = "nope"')).message).toMatch(/^\.steme\/claims\.toml:13: claim #2 "b": unknown comparison "nope"/)
    expect(second((c) => c.replace('why = "strict', 'colour = "red"\nwhy = "strict')).message).toMatch(/claims\.toml:13: claim #2 "b": unknown field "colour"/)
    expect(second((c) => c.replace('subject = "repo:tsconfig"', 'subject = 7')).message).toMatch(/claims\.toml:10: claim #2 "b": "subject" must be a string/)
    expect(second((c) => c.replace('why = "strict mode catches null bugs"', 'why = 1')).message).toMatch(/claims\.toml:13: /)
    expect(second((c) => c.replace('expect = true', 'expect = "a"\ncompare = "in"')).message).toMatch(/claims\.toml:12: .*needs "expect" to be an array/)
    // Missing: the table's header line.
    expect(second((c) => c.replace('subject = "repo:tsconfig"\n', '')).message).toMatch(/claims\.toml:8: claim #2 "b": needs a "subject"/)
    // A comparison with no expect: where the comparison is written.
    expect(second((c) => c.replace('expect = true', 'compare = "gte"')).message).toMatch(/claims\.toml:12: .*needs an "expect" value/)
    // A field of the same name in a later table is not taken for this one's.
    expect(fails(CLAIM.replace('\nwhy =', '\ncompare = 1\nwhy =').replace('compare = 1', 'compare = "nope"') + '\n[[extract]]\nfiles = "a"\njson = "x"\nsubject = "s"\npredicate = "p"\n').message).toMatch(/claims\.toml:6: /)
    const extract = (body: string) => fails(CLAIM + '\n[[extract]]\nfiles = "package.json"\n' + body)
    // The extract's header is line 8, files 9, then the body from line 10.
    expect(extract('subject = "s"\npredicate = "p"\nregex = "no groups"\n').message).toMatch(/claims\.toml:12: extract #1: the regex needs one capture group/)
    expect(extract('regex = "(a)"\nflags = "g"\nsubject = "s"\npredicate = "p"\n').message).toMatch(/claims\.toml:11: extract #1: flags "g"/)
    expect(extract('json = "a"\nyaml = "b"\nsubject = "s"\npredicate = "p"\n').message).toMatch(/claims\.toml:11: extract #1: has json and yaml/)
    expect(fails(CLAIM + '\n[settings]\nbuiltins = true\nregex_timeout_ms = 0\n').message).toMatch(/claims\.toml:10: \[settings\]: regex_timeout_ms must be a positive integer/)
  })
})

describe('fixtures', () => {
  const read = (name: string) => readFileSync(new URL(`../../fixtures/claims/${name}`, import.meta.url), 'utf8')
  it('the example claims file parses', () => {
    const cf = parseClaims(read('node-service.toml'), 'node-service.toml')
    expect(cf.claims.map((c) => c.id)).toContain('tsconfig-strict')
    expect(cf.extracts.map((x) => x.kind)).toEqual(['yaml', 'toml', 'regex'])
  })
  it.each([
    ['broken-toml.toml', /broken-toml\.toml:5:\d+: not valid TOML/],
    ['bad-comparison.toml', /bad-comparison\.toml:7: claim #1 "x": unknown comparison "roughly"/],
  ])('%s is refused with its line', (name, re) => {
    expect(() => parseClaims(read(name), name)).toThrow(re)
  })
})
