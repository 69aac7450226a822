/** A runaway regex extractor is stopped at its time budget (on the built CLI's worker thread) instead of hanging verify and the commit, and the claims it feeds fail closed. */
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {claim, GIT_ENV, makeRepo, tempDir} from './helpers.js'

const BIN = resolve(__dirname, '../../bin/run.js')
let env: NodeJS.ProcessEnv

beforeAll(() => {
  if (!existsSync(resolve(__dirname, '../../dist/claims/regex-worker.js'))) throw new Error('build first: npm run build')
  env = {...process.env, ...GIT_ENV, XDG_CONFIG_HOME: tempDir('steme-xdg-'), NO_COLOR: '1'}
  delete env.STEME_STORE
})

// Backtracks for hours on a line of a's that does not end the way the regex wants.
const RUNAWAY = 'a'.repeat(40) + '!\n'

describe('regex time budget', () => {
  it('stops a regex that runs over the budget, warns naming the extractor and file, and fails closed on the claims it feeds', () => {
    const dir = makeRepo(
      {
        'data/a.txt': 'aaaa\n',
        'data/b.txt': RUNAWAY,
        'data/c.txt': RUNAWAY,
        'version.txt': 'v=1.2.3\n',
        'package.json': '{"name": "demo"}\n',
        '.steme/claims.toml': [
          claim('no-runs', 'repo:data', 'runs', 'expect = 0'),
          claim('version', 'repo:code', 'version', 'expect = "1.2.3"'),
          claim('no-secret', 'repo:data', 'secret', 'compare = "absent"\nseverity = "warn"'),
          claim('name', 'repo:package', 'name', 'expect = "demo"'),
          '[[extract]]\nfiles = "data/*.txt"\nregex = "^(a+)+$"\ncount = true\nsubject = "repo:data"\npredicate = "runs"\n',
          '[[extract]]\nfiles = "version.txt"\nregex = "v=(\\\\S+)"\nsubject = "repo:code"\npredicate = "version"\n',
          '[[extract]]\nfiles = "data/*.txt"\nregex = "^(?:a+)+(SECRET)$"\nsubject = "repo:data"\npredicate = "secret"\n',
          // The built-in package.json extractor sees the name too; this one might see another.
          '[[extract]]\nfiles = "data/*.txt"\nregex = "^(?:a+)+name=(\\\\w+)$"\nsubject = "repo:package"\npredicate = "name"\n',
          '[settings]\nregex_timeout_ms = 300\n',
        ].join('\n'),
      },
      {git: true},
    )
    for (const args of [['verify', '--json'], ['verify', '--staged', '--json']]) {
      const r = verify(dir, args)
      expect(r.status, r.stderr).toBe(1)
      const report = JSON.parse(r.stdout) as {verdicts: {id: string; status: string; fails: boolean; message: string}[]; warnings: string[]; summary: object}
      // A count that misses a file could pass `expect = 0`, an absent claim pass on nothing seen, and
      // an eq claim pass on what the built-in saw: each is UNCHECKED instead, failing as its severity says.
      expect(report.verdicts.map((v) => [v.id, v.status, v.fails])).toEqual([
        ['no-runs', 'UNCHECKED', true],
        ['version', 'PASS', false],
        ['no-secret', 'UNCHECKED', false],
        ['name', 'UNCHECKED', true],
      ])
      expect(report.verdicts[0].message).toBe(
        'repo:data runs: could not be checked: extract #1 (.steme/claims.toml:26) ran over its 300 ms budget on data/b.txt and was stopped, so what it would observe is unknown; raise settings.regex_timeout_ms or make its regex cheaper',
      )
      expect(report.summary).toMatchObject({claims: 4, pass: 1, missing: 0, unchecked: 3, failing: 2})
      expect(report.warnings).toContainEqual(expect.stringMatching(/extract #1: regex ran over its 300 ms budget on data\/b\.txt .*not run on 1 more file; it observes nothing in this run/))
    }
    const table = verify(dir, ['verify'])
    expect(table.status).toBe(1)
    expect(table.stdout).toMatch(/^UNCHECKED\s+error\s+no-runs/m)
    expect(table.stdout).toContain('✗ name (error): repo:package name: could not be checked: extract #4 (.steme/claims.toml:45) ran over its 300 ms budget on data/b.txt')
    expect(table.stdout).toContain('4 claims: 1 pass, 0 conflict, 0 missing, 3 unchecked')

    // A baseline accepts no claim that could not be checked: the run still fails on it, and a claim
    // the baseline accepted before keeps its entry.
    const accepted = {status: 'CONFLICT', severity: 'error', message: 'accepted before'}
    writeFileSync(join(dir, '.steme/claims-baseline.json'), JSON.stringify({version: 1, claims: {name: accepted, 'no-runs-old': accepted}}))
    const up = verify(dir, ['verify', '--update-baseline'])
    expect(up.status, up.stderr).toBe(1)
    expect(up.stdout).toContain('baseline written to ')
    expect(up.stdout).toContain('not accepted, since they could not be checked: no-runs, no-secret\nFAILED: 1 claim fails')
    expect(JSON.parse(readFileSync(join(dir, '.steme/claims-baseline.json'), 'utf8')).claims).toEqual({name: accepted})
  })
})

describe('worker threads under the time budget', () => {
  // NODE_DEBUG=worker makes Node say on stderr each time a worker thread is created.
  const started = (r: {stderr: string}) => (r.stderr.match(/created Worker/g) ?? []).length

  it('starts a new worker after a timeout only when a job is left for it', () => {
    const dir = makeRepo(
      {
        'data/b.txt': RUNAWAY,
        '.steme/claims.toml': [
          claim('runs', 'repo:data', 'runs', 'expect = 0'),
          claim('secret', 'repo:data', 'secret', 'compare = "absent"'),
          '[[extract]]\nfiles = "data/*.txt"\nregex = "^(a+)+$"\ncount = true\nsubject = "repo:data"\npredicate = "runs"\n',
          '[[extract]]\nfiles = "data/*.txt"\nregex = "^(?:a+)+(SECRET)$"\nsubject = "repo:data"\npredicate = "secret"\n',
          '[settings]\nregex_timeout_ms = 300\n',
        ].join('\n'),
      },
      {git: true},
    )
    const r = verify(dir, ['verify', '--json'], {NODE_DEBUG: 'worker'})
    expect(r.status, r.stderr).toBe(1)
    const report = JSON.parse(r.stdout) as {verdicts: {id: string; status: string}[]}
    expect(report.verdicts.map((v) => [v.id, v.status])).toEqual([
      ['runs', 'UNCHECKED'],
      ['secret', 'UNCHECKED'],
    ])
    // Both regexes run over the budget on the one file: the first timeout leaves the second job, which
    // needs a new worker; the second leaves nothing, so no third worker is started.
    expect(started(r)).toBe(2)
  })
})

describe('matches patterns under the time budget', () => {
  it('stops a claim\'s pattern that runs over the budget on an observed value, and fails the claim closed', () => {
    const dir = makeRepo(
      {
        'data/v.txt': 'v=' + RUNAWAY + 'w=aaa\n',
        '.steme/claims.toml': [
          claim('runaway', 'repo:data', 'v', 'expect = "^(a+)+$"\ncompare = "matches"'),
          claim('fine', 'repo:data', 'w', 'expect = "^(a+)+$"\ncompare = "matches"'),
          '[[extract]]\nfiles = "data/*.txt"\nregex = "^v=(.*)$"\nsubject = "repo:data"\npredicate = "v"\n',
          '[[extract]]\nfiles = "data/*.txt"\nregex = "^w=(.*)$"\nsubject = "repo:data"\npredicate = "w"\n',
          '[settings]\nregex_timeout_ms = 300\n',
        ].join('\n'),
      },
      {git: true},
    )
    const r = verify(dir, ['verify', '--json'])
    expect(r.status, r.stderr).toBe(1)
    const report = JSON.parse(r.stdout) as {verdicts: {id: string; status: string; fails: boolean; message: string}[]}
    expect(report.verdicts.map((v) => [v.id, v.status, v.fails])).toEqual([
      ['runaway', 'UNCHECKED', true],
      ['fine', 'PASS', false],
    ])
    expect(report.verdicts[0].message).toBe(
      'repo:data v: could not be checked: its pattern /^(a+)+$/ ran over the 300 ms budget on the value observed at data/v.txt:1 and was stopped; raise settings.regex_timeout_ms or make the pattern cheaper',
    )
  })
})

describe('matches pattern outcomes kept by verify --staged', () => {
  // NODE_DEBUG=worker makes Node say on stderr when a worker thread starts: the cost the cache saves.
  const started = (r: {stderr: string}) => (r.stderr.match(/created Worker/g) ?? []).length
  const verdicts = (r: {stdout: string}) => (JSON.parse(r.stdout) as {verdicts: {id: string; status: string}[]}).verdicts.map((v) => [v.id, v.status])

  it('answers the second run from the cache, starting no worker thread', () => {
    const dir = makeRepo(
      {
        'package.json': '{\n  "name": "app",\n  "version": "2.14.3",\n  "engines": {"node": ">=20.11"}\n}\n',
        Dockerfile: 'ARG NODE_VERSION=20.11.1\nFROM node:${NODE_VERSION}-alpine\nCMD ["node", "server.js"]\n',
        '.steme/claims.toml': [
          claim('semver', 'repo:package', 'version', String.raw`expect = '^\d+\.\d+\.\d+$'` + '\ncompare = "matches"'),
          claim('image', 'repo:docker', 'base_image', String.raw`expect = '^node:\d+(\.\d+)*-alpine$'` + '\ncompare = "matches"'),
          claim('not-v', 'repo:package', 'version', String.raw`expect = '^v\d+'` + '\ncompare = "matches"\nseverity = "warn"'),
          claim('name', 'repo:package', 'name', 'expect = "app"'),
        ].join('\n'),
      },
      {git: true},
    )
    const debug = {NODE_DEBUG: 'worker'}
    const first = verify(dir, ['verify', '--staged', '--json'], debug)
    expect(first.status, first.stderr).toBe(0)
    expect(started(first)).toBe(1)
    const second = verify(dir, ['verify', '--staged', '--json'], debug)
    expect(verdicts(second)).toEqual([
      ['semver', 'PASS'],
      ['image', 'PASS'],
      ['not-v', 'CONFLICT'],
      ['name', 'PASS'],
    ])
    expect(verdicts(second)).toEqual(verdicts(first))
    expect(started(second)).toBe(0)
    // Without --staged there is no cache: the patterns are tested on the worker again.
    expect(started(verify(dir, ['verify', '--json'], debug))).toBe(1)
  })

  it('keeps no outcome of a pattern stopped at the budget: the next run tries it again', () => {
    const dir = makeRepo(
      {
        'package.json': JSON.stringify({name: 'app', license: RUNAWAY.trim()}) + '\n',
        '.steme/claims.toml': claim('license', 'repo:package', 'license', 'expect = "^(a+)+$"\ncompare = "matches"') + '[settings]\nregex_timeout_ms = 300\n',
      },
      {git: true},
    )
    for (let i = 0; i < 2; i++) {
      const r = verify(dir, ['verify', '--staged', '--json'], {NODE_DEBUG: 'worker'})
      expect(r.status, r.stderr).toBe(1)
      expect(verdicts(r)).toEqual([['license', 'UNCHECKED']])
      // The one test there was timed out: nothing is left to run, so no thread is started to replace its worker.
      expect(started(r)).toBe(1)
    }
    expect(JSON.parse(readFileSync(join(dir, '.git/steme/verify-cache.json'), 'utf8')).patterns).toEqual({})
  })
})

/** Run the built CLI; the spawn's own timeout turns a regression (a hang) into a failure rather than a stuck suite. */
function verify(dir: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {cwd: dir, env: {...env, ...extraEnv}, encoding: 'utf8', timeout: 30_000})
  expect(r.signal, r.stderr).toBeNull()
  return r
}
