/**
 * Human output writes every field in one notation, JSON's, so what it prints reads back as one
 * text: a field holding a backslash and an n prints differently from one holding a newline, and
 * no control character from a record or a repo reaches the terminal. --json keeps the text.
 */
import {spawnSync} from 'node:child_process'
import {resolve} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'
import {claim, GIT_ENV, makeRepo, tempDir} from '../claims/helpers.js'

/** Any control character a terminal acts on, the line feed aside (it ends the lines printed). */
const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/

// The same names three ways: with a backslash and an n (two characters), with a newline, with terminal escapes.
const LIT = {subject: 'esc:a\\nb', predicate: 'p\\q', value: 'v\\n', source: 'src\\n1'}
const REAL = {subject: 'esc:a\nb', predicate: 'p\nq', value: 'v\n', source: 'src\n1'}
const ESC = {subject: 'esc:a\\nb', predicate: 'p\\q', value: 'w\x1b[2J', source: 's\x1b[8m'}
// Retracted by source, with reasons holding the same.
const RET_LIT = {subject: 'ret:x', predicate: 'p', value: 1, source: 'ret\\n1'}
const RET_REAL = {subject: 'ret:x', predicate: 'p', value: 2, source: 'ret\n1'}

let sb: Sandbox
const ids: Record<string, string> = {}
beforeAll(() => {
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
  // Through ingest, as records from a file or a peer arrive: the format allows these characters.
  const input = [LIT, REAL, ESC, RET_LIT, RET_REAL].map((r) => JSON.stringify(r)).join('\n') + '\n'
  expect(sb.run(['ingest', '-'], {input}).code).toBe(0)
  expect(sb.run(['retract', '--source', 'ret\\n1', '--reason', 'bad\\nlab']).code).toBe(0)
  expect(sb.run(['retract', '--source', 'ret\n1', '--reason', 'bad\nlab\x1b[2J']).code).toBe(0)
  const records = sb.json<{records: Array<{id: string; kind: string; value?: unknown}>}>(['log']).records
  for (const [name, r] of Object.entries({LIT, REAL, ESC, RET_LIT, RET_REAL})) ids[name] = records.find((x) => x.kind === 'assertion' && x.value === r.value)!.id
})
afterAll(() => sb.cleanup())

describe('human output of fields holding backslashes and control characters', () => {
  it('log: a bare field shows a backslash doubled and a newline as \\n; a value keeps its JSON form', () => {
    const r = sb.run(['log'])
    expect(r.code).toBe(0)
    expect(r.stdout).not.toMatch(RAW)
    const rows = r.stdout.trimEnd().split('\n')
    expect(rows).toHaveLength(8) // the header, five assertions, two retractions: one line each
    const what = (id: string) => rows.find((l) => l.includes(id.slice(0, 12)))!.slice(rows[0].indexOf('WHAT'))
    expect(what(ids.LIT)).toBe('esc:a\\\\nb p\\\\q = "v\\\\n" (c=1, src\\\\n1)')
    expect(what(ids.REAL)).toBe('esc:a\\nb p\\nq = "v\\n" (c=1, src\\n1)')
    expect(what(ids.ESC)).toBe('esc:a\\\\nb p\\\\q = "w\\u001b[2J" (c=1, s\\u001b[8m)')
    expect(r.stdout).toContain('retract source ret\\\\n1: bad\\\\nlab')
    expect(r.stdout).toContain('retract source ret\\n1: bad\\nlab\\u001b[2J')
  })

  it('query --all --explain: the subject, predicate and source of each form print apart, values as JSON', () => {
    const lit = sb.run(['query', LIT.subject, '--all', '--explain'])
    const real = sb.run(['query', REAL.subject, '--all', '--explain'])
    for (const r of [lit, real]) {
      expect(r.code).toBe(0)
      expect(r.stdout).not.toMatch(RAW)
    }
    const litLines = lit.stdout.split('\n')
    const realLines = real.stdout.split('\n')
    expect(litLines[0]).toBe('esc:a\\\\nb  (lens recency)')
    expect(realLines[0]).toBe('esc:a\\nb  (lens recency)')
    expect(litLines).toContain(`  p\\\\q: "w\\u001b[2J" is the latest assertion (hlc ${sb.json<{records: Array<{id: string; hlc: string}>}>(['log']).records.find((x) => x.id === ids.ESC)!.hlc}, id ${ids.ESC.slice(0, 12)}) of 2 candidates`)
    expect(realLines).toContain('p\\nq')
    expect(litLines).toContain('p\\\\q')
    // The candidates: the value as JSON, the source bare.
    expect(lit.stdout).toMatch(new RegExp(`${ids.LIT.slice(0, 12)}  live   "v\\\\\\\\n" +[0-9a-f]{12}  src\\\\\\\\n1\\n`))
    expect(lit.stdout).toMatch(new RegExp(`${ids.ESC.slice(0, 12)}  live   "w\\\\u001b\\[2J" +[0-9a-f]{12}  s\\\\u001b\\[8m\\n`))
    expect(real.stdout).toMatch(new RegExp(`${ids.REAL.slice(0, 12)}  live   "v\\\\n" +[0-9a-f]{12}  src\\\\n1\\n`))
  })

  it('query: a lens explanation puts the fields it names in bare, escaped once', () => {
    const r = sb.run(['query', LIT.subject, LIT.predicate, '--explain', '--lens', 'authority(order="source:src*")'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('  p\\\\q: "v\\\\n" comes from source src\\\\n1, which matches authority rank 1 ("source:src*")')
  })

  it('show: the record stays indented JSON; why it is retracted names the source and reason escaped once', () => {
    const lit = sb.run(['show', ids.RET_LIT])
    const real = sb.run(['show', ids.RET_REAL])
    for (const r of [lit, real]) {
      expect(r.code).toBe(0)
      expect(r.stdout).not.toMatch(RAW)
    }
    expect(lit.stdout.split('\n')).toContain('  "source": "ret\\\\n1",')
    expect(real.stdout.split('\n')).toContain('  "source": "ret\\n1",')
    expect(lit.stdout).toMatch(/ cites source "ret\\\\n1", retracted by [0-9a-f]{12} \(agent [0-9a-f]{12}\): bad\\\\nlab\n/)
    expect(real.stdout).toMatch(/ cites source "ret\\n1", retracted by [0-9a-f]{12} \(agent [0-9a-f]{12}\): bad\\nlab\\u001b\[2J\n/)
    const esc = sb.run(['show', ids.ESC]).stdout
    expect(esc).not.toMatch(RAW)
    expect(esc.split('\n')).toContain('  "value": "w\\u001b[2J",')
  })

  it('conflicts: the subject and predicate cells escaped once, the camps as JSON, the columns lined up', () => {
    const r = sb.run(['conflicts'])
    expect(r.code).toBe(0)
    expect(r.stdout).not.toMatch(RAW)
    const [, header, row] = r.stdout.split('\n')
    expect(row).toMatch(/^esc:a\\\\nb {2}p\\\\q {7}1\.00 {6}2 {7}"/)
    expect(row).toContain('"v\\\\n" 50%')
    expect(row).toContain('"w\\u001b[2J" 50%')
    // Sized by the escaped text: each cell starts under its header.
    for (const h of ['PREDICATE', 'CONFLICT', 'WINNER']) expect(row[header.indexOf(h) - 1]).toBe(' ')
    expect(row.indexOf('p\\\\q')).toBe(header.indexOf('PREDICATE'))
  })

  it('--json keeps every field as it is stored, for each form', () => {
    const records = sb.json<{records: Array<Record<string, unknown>>}>(['log']).records
    for (const [name, r] of Object.entries({LIT, REAL, ESC})) expect(records.find((x) => x.id === ids[name])).toMatchObject(r)
    const q = sb.json<{subject: string; candidates: Array<{value: unknown; source?: string}>; resolutions: Array<{predicate: string}>}>(['query', LIT.subject])
    expect(q.subject).toBe(LIT.subject)
    expect(q.resolutions.map((x) => x.predicate)).toEqual([LIT.predicate])
    expect(q.candidates.map((c) => [c.value, c.source]).sort()).toEqual([[LIT.value, LIT.source], [ESC.value, ESC.source]].sort())
    const show = sb.run(['show', ids.REAL, '--json']).stdout
    expect(JSON.parse(show).record).toMatchObject(REAL)
    const c = sb.json<{conflicts: Array<{subject: string; predicate: string}>}>(['conflicts']).conflicts
    expect(c.map((x) => [x.subject, x.predicate])).toContainEqual([LIT.subject, LIT.predicate])
  })

  it('an error quoting what was typed escapes it once: a backslash and an n, a newline and an escape sequence read apart', () => {
    const lit = sb.run(['show', 'zz\\nzz'])
    const real = sb.run(['show', 'zz\nzz'])
    const esc = sb.run(['query', 'x', '--as-of', '\x1b[2J'])
    for (const r of [lit, real, esc]) {
      expect(r.code).toBe(2)
      expect(r.stderr).not.toMatch(RAW)
    }
    expect(lit.stderr).toContain('error: "zz\\\\nzz" is not a record id')
    expect(real.stderr).toContain('error: "zz\\nzz" is not a record id')
    expect(esc.stderr).toContain('error: --as-of "\\u001b[2J" is neither a date nor an HLC stamp')
  })
})

const BIN = resolve(__dirname, '../../bin/run.js')
let env: NodeJS.ProcessEnv
beforeAll(() => {
  env = {...process.env, ...GIT_ENV, XDG_CONFIG_HOME: tempDir('steme-xdg-'), NO_COLOR: '1'}
  delete env.SKIP
  delete env.STEME_STORE
})
/** steme and git in a repo, as the pre-commit hook runs them. */
const steme = (dir: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], {cwd: dir, env, encoding: 'utf8'})
const git = (dir: string, ...args: string[]) => spawnSync('git', args, {cwd: dir, env, encoding: 'utf8'})

describe('verify and the pre-commit hook, on a repo whose file names and claims hold them', () => {

  // A Dockerfile is observed under a subject naming its path, so the path reaches the claim's subject too.
  const CLAIMS =
    claim('lit', 'repo:docker:Dockerfile.a\\\\nb', 'base_image', 'expect = "node:20"\nwhy = "one\\\\ntwo"') +
    claim('real', 'repo:docker:Dockerfile.a\\nb', 'base_image', 'expect = "node:20"\nwhy = "one\\ntwo"') +
    claim('esc', 'repo:docker:Dockerfile.e\\u001b[2J', 'base_image', 'expect = "node:22"')
  const repo = () => makeRepo({'Dockerfile.a\\nb': 'FROM node:18\n', 'Dockerfile.e\x1b[2J': 'FROM node:20\n', '.steme/claims.toml': CLAIMS}, {git: true})

  it('verify: the table, the failures and the unclaimed observations print paths, names and why bare, escaped once', () => {
    const dir = repo()
    const r = steme(dir, 'verify')
    expect(r.status).toBe(1)
    expect(r.stdout).not.toMatch(RAW)
    const lines = r.stdout.split('\n')
    expect(lines).toContain('CONFLICT  error     lit    "node:20"  "node:18"  Dockerfile.a\\\\nb:1')
    expect(lines).toContain('CONFLICT  error     esc    "node:22"  "node:20"  Dockerfile.e\\u001b[2J:1')
    expect(lines).toContain('✗ lit (error): repo:docker:Dockerfile.a\\\\nb base_image: expected "node:20", observed "node:18" at Dockerfile.a\\\\nb:1')
    expect(lines).toContain('    why: one\\\\ntwo')
    expect(lines).toContain('✗ real (error): repo:docker:Dockerfile.a\\nb base_image: no observation (no store to consult)')
    expect(lines).toContain('    why: one\\ntwo')
    expect(lines).toContain('✗ esc (error): repo:docker:Dockerfile.e\\u001b[2J base_image: expected "node:22", observed "node:20" at Dockerfile.e\\u001b[2J:1')
    expect(lines).toContain('  repo:docker:Dockerfile.a\\\\nb image = "node:18"  Dockerfile.a\\\\nb:1')
    // --json: the claim and what was observed, as the files hold them.
    const report = JSON.parse(steme(dir, 'verify', '--json').stdout) as {verdicts: Array<{id: string; subject: string; why?: string; failures: Array<{where: string; file?: string}>}>}
    const byId = Object.fromEntries(report.verdicts.map((v) => [v.id, v]))
    expect(byId.lit).toMatchObject({subject: 'repo:docker:Dockerfile.a\\nb', why: 'one\\ntwo', failures: [{where: 'Dockerfile.a\\nb:1', file: 'Dockerfile.a\\nb'}]})
    expect(byId.real).toMatchObject({subject: 'repo:docker:Dockerfile.a\nb', why: 'one\ntwo'})
    expect(byId.esc).toMatchObject({subject: 'repo:docker:Dockerfile.e\x1b[2J', failures: [{where: 'Dockerfile.e\x1b[2J:1'}]})
  })

  it('claims list: the claim names escaped once, the expected values as JSON, the columns sized by what is printed', () => {
    const r = steme(repo(), 'claims', 'list')
    expect(r.status).toBe(0)
    expect(r.stdout).not.toMatch(RAW)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines.slice(1).map((l) => l.replace(/ +/g, ' '))).toEqual([
      'lit CONFLICT error repo:docker:Dockerfile.a\\\\nb base_image eq "node:20"',
      'real MISSING error repo:docker:Dockerfile.a\\nb base_image eq "node:20"',
      'esc CONFLICT error repo:docker:Dockerfile.e\\u001b[2J base_image eq "node:22"',
    ])
    for (const l of lines) expect(l.indexOf(l === lines[0] ? 'PREDICATE' : 'base_image')).toBe(lines[0].indexOf('PREDICATE'))
  })

  it('the pre-commit hook refuses the commit with the same report: no escape sequence reaches the committer', () => {
    const dir = repo()
    expect(steme(dir, 'hook', 'install').status).toBe(0)
    const r = git(dir, 'commit', '--allow-empty', '-m', 'try')
    expect(r.status).not.toBe(0)
    const out = r.stdout + r.stderr
    expect(out).not.toMatch(RAW)
    expect(out).toContain('✗ esc (error): repo:docker:Dockerfile.e\\u001b[2J base_image: expected "node:22", observed "node:20" at Dockerfile.e\\u001b[2J:1')
    expect(out).toContain('    why: one\\\\ntwo')
  })
})

describe('the net under the fields: text steme did not compose', () => {
  it('an error message keeps its lines and shows any other control character as an escape; --json keeps the text', () => {
    const sb2 = sandbox()
    try {
      const store = '/nonexistent/a\x1b[2Jb'
      const r = sb2.run(['stats', '--store', store])
      expect(r.code).toBe(2)
      expect(r.stderr).not.toMatch(RAW)
      expect(r.stderr).toContain('error: no store at /nonexistent/a\\u001b[2Jb\nhint: ')
      const j = sb2.run(['stats', '--store', store, '--json'])
      expect(JSON.parse(j.stdout).error.message).toBe(`no store at ${store}`)
    } finally {
      sb2.cleanup()
    }
  })

  it("a note quoting a file's own words (a parser's error) shows its escape sequence as an escape", () => {
    const dir = makeRepo({'package.json': '{"name": x\x1b[2J}\n', '.steme/claims.toml': claim('a', 'repo:package', 'name', 'expect = "x"')}, {git: true})
    const r = steme(dir, 'verify')
    expect(r.stderr).not.toMatch(RAW)
    expect(r.stderr).toContain('warning: package.json: could not be read as package.json (')
    expect(r.stderr).toContain('x\\u001b[2J')
  })
})
