/** Fuzzing the claims TOML: generated malformed claims files through the parser, POST /v1/verify's op, verifyOp and the CLI; no crash, clean errors with line (and column), nothing written. */
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import type {Observation} from '../../src/claims/observation.js'
import {parseClaims} from '../../src/claims/parse.js'
import {UserError} from '../../src/core/errors.js'
import {verifyOp} from '../../src/ops/verify.js'
import {verifyRequestOp} from '../../src/ops/verify-request.js'
import {gitIn, tempDir, writeFiles} from '../claims/helpers.js'
import {FULL, report} from '../helpers/report.js'

const BIN = resolve(import.meta.dirname, '../../bin/run.js')
const NAME = '.steme/claims.toml'

const BASES = [
  readFileSync(resolve(import.meta.dirname, '../../fixtures/claims/node-service.toml'), 'utf8'),
  `[[claim]]
id = "strict"
subject = "repo:tsconfig"
predicate = "compilerOptions.strict"
expect = true
lens = "recency"
from = "any"

[[claim]]
id = "deps"
subject = "repo:package"
predicate = "dependencies.express"
expect = ["^4.0.0", "^5.0.0"]
compare = "in"

[[extract]]
files = ["config/*.yaml", "**/*.toml"]
yaml = 'services.web.ports[0]'
subject = "repo:config"
predicate = "port"

[[extract]]
files = "src/**/*.ts"
regex = "BEGIN (RSA|EC) PRIVATE KEY"
count = true
flags = "i"
subject = "repo:secrets"
predicate = "private_keys"

[settings]
max_file_bytes = 65536
builtins = true
`,
]

/** Pieces that matter to TOML and to the claims schema, spliced into valid files. */
const TOKENS = ['[', ']', '[[', ']]', '"', "'", '"""', "'''", '=', '\n', '#', '.', ',', '{', '}', '\\', '\\u12', '\\U0001F600', 'inf', 'nan', '-0', '1979-05-27T07:32:00Z', '0x', '\u0000', '\t', '\r', ' ', '\u2028', '[[claim]]', '[[extract]]', '[settings]', 'id', 'expect', 'compare = "near"', 'regex = "(("', 'files = "../x"', 'lens = "no-such-lens"', 'a.b.c = 1', '"key with spaces"']

const mutated = fc
  .tuple(fc.constantFrom(...BASES), fc.array(fc.tuple(fc.nat(), fc.nat({max: 3}), fc.oneof(fc.constantFrom(...TOKENS), fc.string({maxLength: 4}))), {minLength: 1, maxLength: 6}))
  .map(([text, edits]) => {
    let s = text
    for (const [pos, op, piece] of edits) {
      const i = pos % (s.length + 1)
      // replace one char, insert, delete a short run, or cut the file there
      s = op === 0 ? s.slice(0, i) + piece + s.slice(i + 1) : op === 1 ? s.slice(0, i) + piece + s.slice(i) : op === 2 ? s.slice(0, i) + s.slice(i + 1 + (pos % 7)) : s.slice(0, i)
    }
    return s
  })

const HEADERS = ['[[claim]]', '[[extract]]', '[settings]', '[claim]', '[[settings]]', '[other]', '[[claim.x]]', '[settings.deep]', '[[ claim ]]']
const KEYS = ['id', 'subject', 'predicate', 'expect', 'compare', 'severity', 'why', 'lens', 'from', 'files', 'json', 'yaml', 'toml', 'regex', 'flags', 'count', 'max_file_bytes', 'regex_timeout_ms', 'builtins', 'unknown', '"quoted.key"', 'a.b']
const LITERALS = [
  '"eq"', '"gte"', '"lte"', '"in"', '"matches"', '"present"', '"absent"', '"near"', '"error"', '"warn"', '"fatal"', '"any"', '"files"', '"store"',
  '"recency"', '"confidence"', '"trust, else recency"', '"no-such-lens"', '"("', '"(a+)+$"', '"(x)"', '"[a-"', '"a.b[0]"', '"a..b"', '"[x"', '"dependencies.\\"@types/node\\""',
  '"../x"', '"/etc/passwd"', '"C:\\\\x"', '""', '"**/*.json"', '["*.json", 1]', '[]', '"imsu"', '"g"',
  '1', '0', '-1', '3.5', 'nan', 'inf', '-inf', '1e400', '9223372036854775807', 'true', 'false', '1979-05-27', '07:32:00', '1979-05-27T07:32:00-08:00',
  '[1, "a", true]', '[[1], [2]]', '{a = 1, b = "x"}', '{}', '"\\u0000"', '"repo:package"', '"version"', '"id-1"', '"bad id!"', '"x".repeat',
]
const value = fc.oneof(fc.constantFrom(...LITERALS), fc.string({maxLength: 12}).map((s) => JSON.stringify(s)), fc.integer().map(String))
const entry = fc.tuple(fc.constantFrom(...HEADERS), fc.array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({minLength: 1, maxLength: 6}).map((s) => JSON.stringify(s))), value), {maxLength: 9}))
const structured = fc
  .tuple(fc.array(fc.tuple(fc.constantFrom(...KEYS), value), {maxLength: 2}), fc.array(entry, {minLength: 1, maxLength: 6}))
  .map(([top, entries]) => [...top.map(([k, v]) => `${k} = ${v}`), ...entries.flatMap(([h, kv]) => ['', h, ...kv.map(([k, v]) => `${k} = ${v}`)])].join('\n') + '\n')

const claimsText = fc.oneof({weight: 5, arbitrary: mutated}, {weight: 4, arbitrary: structured}, {weight: 1, arbitrary: fc.string({maxLength: 200})})

/** Observations the claims above talk about, so that files that do parse are judged too. */
const OBS: Observation[] = [
  {subject: 'repo:tsconfig', predicate: 'compilerOptions.strict', value: true, file: 'tsconfig.json', line: 1, via: 'builtin:tsconfig'},
  {subject: 'repo:package', predicate: 'dependencies.express', value: '^4.0.0', file: 'package.json', line: 3, via: 'builtin:package.json'},
  {subject: 'repo:node', predicate: 'version', value: '20.19.1', file: '.nvmrc', line: 1, via: 'builtin:node'},
  {subject: 'repo:package', predicate: 'version', value: {major: 1}, file: 'package.json', line: 2, via: 'builtin:package.json'},
]

type Outcome = {kind: 'ok'} | {kind: 'error'; located: boolean} | {kind: 'crash'; detail: string}

/** A clean error: a UserError naming the file, no stack; TOML syntax errors carry line and column, schema errors a line. */
function classify(e: unknown, text: string, name: string): Outcome {
  if (!(e instanceof UserError)) return {kind: 'crash', detail: String((e as Error)?.stack ?? e)}
  const m = e.message
  const problems: string[] = []
  if (!m.includes(name)) problems.push('does not name the file')
  if (/\n\s+at |node_modules|\.ts:\d+/.test(m)) problems.push('carries a stack')
  if (m.length > 4000) problems.push('is huge')
  if (m.includes('\n')) problems.push('spans several lines')
  const lines = text.split(/\r?\n/).length
  if (/not valid TOML/.test(m)) {
    if (!e.at?.line || !e.at.column) problems.push('TOML error without line and column')
    else if (!m.includes(`${name}:${e.at.line}:${e.at.column}:`)) problems.push('line and column not in the message')
  }
  if (e.at && (e.at.line < 1 || e.at.line > lines + 1)) problems.push(`line ${e.at.line} outside the file (${lines} lines)`)
  if (e.at && !m.includes(`${name}:${e.at.line}`)) problems.push('line not in the message')
  return problems.length ? {kind: 'crash', detail: `${problems.join(', ')}: ${m}`} : {kind: 'error', located: !!e.at}
}

/** Every file and its size and mtime under dir: what "nothing written" is checked against. */
function snapshot(dir: string, skip: string): string {
  const out: string[] = []
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n)
      if (p === skip) continue
      const st = statSync(p)
      if (st.isDirectory()) walk(p)
      else out.push(`${p} ${st.size} ${st.mtimeMs}`)
    }
  }
  walk(dir)
  return out.join('\n')
}

const REPO_FILES = {
  'package.json': JSON.stringify({name: 'demo', version: '1.0.0', dependencies: {express: '^4.0.0'}}, null, 2),
  'tsconfig.json': '{"compilerOptions": {"strict": true}}\n',
  '.nvmrc': '20.19.1\n',
  'config/app.yaml': 'services:\n  web:\n    ports: [8080]\n',
  'src/index.ts': 'export const x = 1\n',
}

const PARSE_RUNS = FULL ? 50_000 : 10_000
const OP_RUNS = FULL ? 5_000 : 400
const CLI_RUNS = FULL ? 40 : 2

describe('fuzzing the claims TOML', () => {
  it(`${PARSE_RUNS} generated claims files through the parser and POST /v1/verify's op: no crash, every error clean and located`, async () => {
    const tally = {ok: 0, error: 0, located: 0, crashes: 0}
    const crashes: string[] = []
    await fc.assert(
      fc.asyncProperty(claimsText, async (text) => {
        let out: Outcome
        try {
          const rep = await verifyRequestOp({}, {claims: text, name: NAME, observations: OBS})
          JSON.stringify(rep)
          out = {kind: 'ok'}
        } catch (e) {
          out = classify(e, text, NAME)
          if (out.kind === 'error' && (e as UserError).code !== 'invalid_claims') out = {kind: 'crash', detail: `code ${(e as UserError).code}: ${(e as Error).message}`}
        }
        if (out.kind === 'crash') {
          tally.crashes++
          if (crashes.length < 5) crashes.push(`${JSON.stringify(text)}\n  -> ${out.detail}`)
          return true
        }
        tally[out.kind]++
        if (out.kind === 'error' && out.located) tally.located++
        return true
      }),
      {numRuns: PARSE_RUNS},
    )
    report({suite: 'fuzz claims TOML (parser, /v1/verify op)', inputs: PARSE_RUNS, crashes: tally.crashes})
    expect(crashes).toEqual([])
    // The generators make mostly broken files: the test is about errors, and each names its line.
    expect(tally.error).toBeGreaterThan(PARSE_RUNS * 0.6)
    expect(tally.located).toBe(tally.error)
  }, 120_000)

  it(`${OP_RUNS} generated claims files through verifyOp on a repo: no crash, clean errors, nothing written`, async () => {
    const dir = tempDir('steme-fuzz-claims-')
    writeFiles(dir, {...REPO_FILES, '.steme/claims.toml': ''})
    const claimsPath = join(dir, NAME)
    const before = snapshot(dir, claimsPath)
    let crashes = 0
    const seen: string[] = []
    await fc.assert(
      fc.asyncProperty(claimsText, async (text) => {
        writeFileSync(claimsPath, text)
        let out: Outcome
        try {
          JSON.stringify(await verifyOp({}, {cwd: dir}))
          out = {kind: 'ok'}
        } catch (e) {
          out = classify(e, text, NAME)
        }
        if (out.kind === 'crash') {
          crashes++
          if (seen.length < 5) seen.push(`${JSON.stringify(text)}\n  -> ${out.detail}`)
        }
        return true
      }),
      {numRuns: OP_RUNS},
    )
    report({suite: 'fuzz claims TOML (verifyOp on a repo)', inputs: OP_RUNS, crashes})
    expect(seen).toEqual([])
    expect(snapshot(dir, claimsPath)).toBe(before)
  }, 120_000)

  it(`${CLI_RUNS} broken claims files through \`steme verify --staged\`: exit 2, a located message, nothing written`, () => {
    const dir = tempDir('steme-fuzz-cli-')
    gitIn(dir, 'init', '-q')
    writeFiles(dir, REPO_FILES)
    gitIn(dir, 'add', '-A')
    const claimsPath = join(dir, NAME)
    const samples = fc.sample(claimsText.filter((t) => !!classifyQuick(t)), {numRuns: CLI_RUNS, seed: Number(process.env.STEME_FUZZ_SEED ?? Date.now() % 1e9)})
    let crashes = 0
    for (const text of samples) {
      writeFiles(dir, {[NAME]: text})
      const before = snapshot(dir, claimsPath)
      const env = {PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, '.xdg-none'), NO_COLOR: '1'}
      const r = spawnSync(process.execPath, [BIN, 'verify', '--staged', '--json'], {cwd: dir, env, encoding: 'utf8'})
      const expected = classifyQuick(text)!
      const ok = r.status === 2 && !/internal error/.test(r.stderr) && r.stderr.startsWith(`error: ${expected}\n`) && JSON.parse(r.stdout).error.code === 'config'
      if (!ok) crashes++
      // The message is one line (user text inside it is quoted), then the hint.
      expect({status: r.status, first: r.stderr.split('\n')[0]}, JSON.stringify(text)).toEqual({status: 2, first: `error: ${expected}`})
      expect(snapshot(dir, claimsPath)).toBe(before)
      expect(existsSync(join(dir, '.git', 'steme'))).toBe(false)
    }
    report({suite: 'fuzz claims TOML (steme verify CLI)', inputs: samples.length, crashes})
  }, 180_000)
})

/** The message the parser gives a broken text (undefined when it parses): what the CLI must print. */
function classifyQuick(text: string): string | undefined {
  try {
    parseClaims(text, NAME)
    return undefined
  } catch (e) {
    return e instanceof UserError ? e.message : undefined
  }
}
