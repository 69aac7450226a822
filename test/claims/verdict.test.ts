import {describe, expect, it, vi} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import type {Stopped} from '../../src/claims/extract.js'
import type {Observation} from '../../src/claims/observation.js'
import {parseClaims} from '../../src/claims/parse.js'
import {decide, type Unchecked} from '../../src/claims/verdict.js'
import type {Json} from '../../src/core/record.js'
import {judge, settle, type StoreDeps} from '../../src/ops/verify.js'
import {parseRequestClaims, REQUEST_LIMITS, type VerifyReport} from '../../src/ops/verify-request.js'
import {claim as claimToml} from './helpers.js'

const STOP: Unchecked = {by: 'extract#2', file: 'data/b.txt', cause: 'timeout', detail: 'extract #2 (claims.toml:9) ran over its 300 ms budget on data/b.txt and was stopped'}

function claim(rest: string) {
  return parseClaims(claimToml('c', 's', 'p', rest), 'claims.toml').claims[0]
}

const seen = (...values: Json[]): Observation[] => values.map((value, i) => ({subject: 's', predicate: 'p', value, file: 'a.txt', line: i + 1, via: 'builtin:x'}))

describe('a claim fed by a stopped extractor', () => {
  it.each<[string, string, Json[]]>([
    ['absent, nothing seen elsewhere', 'compare = "absent"', []],
    ['eq, passing on what was seen elsewhere', 'expect = "1.2.3"', ['1.2.3']],
    ['gte, passing on what was seen elsewhere', 'expect = "20"\ncompare = "gte"', ['20.11']],
    ['a count with nothing seen', 'expect = 0', []],
    ['present, nothing seen elsewhere', 'compare = "present"', []],
  ])('is UNCHECKED, not passed nor MISSING: %s', (_, rest, values) => {
    const v = decide(claim(rest), seen(...values), values.length ? 'files' : 'none', {stopped: STOP})
    expect(v).toMatchObject({status: 'UNCHECKED', unchecked: STOP, failures: []})
    expect(v.message).toBe(`s p: could not be checked: ${STOP.detail}`)
  })

  it('keeps a failure found anyway, and a present claim seen anyway: no observation can undo them', () => {
    expect(decide(claim('expect = "1.2.3"'), seen('1.2.3', '1.0.0'), 'files', {stopped: STOP})).toMatchObject({status: 'CONFLICT', failures: [{value: '1.0.0'}]})
    expect(decide(claim('compare = "absent"'), seen('x'), 'files', {stopped: STOP}).status).toBe('CONFLICT')
    expect(decide(claim('compare = "present"'), seen('x'), 'files', {stopped: STOP}).status).toBe('PASS')
  })

  it('fails like any failing claim of its severity', () => {
    const error = decide(claim('compare = "absent"'), [], 'none', {stopped: STOP})
    const warn = decide(claim('compare = "absent"\nseverity = "warn"'), [], 'none', {stopped: STOP})
    const {summary} = settle([error, warn], {})
    expect([error.fails, warn.fails]).toEqual([true, false])
    expect(summary).toMatchObject({claims: 2, pass: 0, missing: 0, unchecked: 2, failing: 1})
    expect(settle([error, warn], {failOnWarn: true}).summary.failing).toBe(2)
  })
})

describe('judging with stopped extractors', () => {
  const cf = parseClaims(
    claimToml('ver', 'repo:code', 'version', 'expect = "1.2.3"') +
      claimToml('secret', 'repo:code', 'secret', 'compare = "absent"') +
      claimToml('owner', 'repo:code', 'owner', 'expect = "alice"\nfrom = "store"') +
      claimToml('other', 'repo:code', 'name', 'expect = "app"'),
    'claims.toml',
  )
  const stopped: Stopped[] = [
    {subject: 'repo:code', predicate: 'version', why: STOP},
    {subject: 'repo:code', predicate: 'secret', why: {...STOP, by: 'extract#3'}},
    {subject: 'repo:code', predicate: 'owner', why: STOP},
  ]
  const observations: Observation[] = [{subject: 'repo:code', predicate: 'version', value: '1.2.3', file: 'v.txt', line: 1, via: 'extract#1'}]

  it('makes the claims they feed UNCHECKED, and leaves from = "store" claims to the store', async () => {
    const store = new MemoryStore()
    const openStore = vi.fn(async (): Promise<StoreDeps> => ({store, config: {...DEFAULT_CONFIG}}))
    const {verdicts} = await judge({openStore}, '', cf, observations, stopped)
    expect(verdicts.map((v) => [v.id, v.status, v.unchecked?.by])).toEqual([
      ['ver', 'UNCHECKED', 'extract#2'],
      ['secret', 'UNCHECKED', 'extract#3'],
      ['owner', 'MISSING', undefined],
      ['other', 'MISSING', undefined],
    ])
  })

  it('opens no store for a claim a stopped extractor feeds: the files, which come first, are not known', async () => {
    const counted = parseClaims(claimToml('todos', 'repo:code', 'todos', 'expect = 0'), 'claims.toml')
    const openStore = vi.fn(async (): Promise<StoreDeps> => ({store: new MemoryStore(), config: {...DEFAULT_CONFIG}}))
    const {verdicts, store} = await judge({openStore}, '', counted, [], [{subject: 'repo:code', predicate: 'todos', why: STOP}])
    expect(verdicts[0].status).toBe('UNCHECKED')
    expect(store).toBe('unused')
    expect(openStore).not.toHaveBeenCalled()
  })

  it('decides them here when a daemon judges the rest, since it does not know they were stopped', async () => {
    const passed = (id: string) => ({id, status: 'PASS', message: 'passed on the daemon'})
    const remote = vi.fn(async () => ({verdicts: ['ver', 'secret', 'owner', 'other'].map(passed), store: 'used'}) as unknown as VerifyReport)
    const {verdicts, store} = await judge({openStore: async () => ({store: new MemoryStore(), config: {...DEFAULT_CONFIG}, verify: remote})}, '', cf, observations, stopped)
    expect(remote).toHaveBeenCalledTimes(1)
    expect(store).toBe('used')
    expect(verdicts.map((v) => [v.id, v.status])).toEqual([
      ['ver', 'UNCHECKED'],
      ['secret', 'UNCHECKED'],
      ['owner', 'PASS'],
      ['other', 'PASS'],
    ])
  })
})

describe('a claims file sent to the daemon', () => {
  it('cannot give its patterns more time than the daemon allows, only less', async () => {
    const text = (ms: number) => `[settings]\nregex_timeout_ms = ${ms}\n\n${claimToml('v', 'repo:data', 'v', 'expect = "^(a+)+$"\ncompare = "matches"')}`
    expect((await parseRequestClaims(text(600_000), 'claims.toml')).settings.regexTimeoutMs).toBe(REQUEST_LIMITS.regexTimeoutMs)
    expect((await parseRequestClaims(text(600_000), 'claims.toml', {regexTimeoutMs: 250})).settings.regexTimeoutMs).toBe(250)
    expect((await parseRequestClaims(text(40), 'claims.toml')).settings.regexTimeoutMs).toBe(40)
  })
})
