/** Properties every lens keeps: the answer does not depend on record order, and merged stores agree. */
import {describe, expect} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {formatHlc} from '../../src/core/hlc.js'
import type {Assertion, RecordBody, Trust, Vote} from '../../src/core/record.js'
import {seal, type Sealed} from '../../src/core/seal.js'
import {compile, LENS_NAMES, resolve} from '../../src/lenses/registry.js'
import {trustScores} from '../../src/lenses/trust-scores.js'
import {valueKey} from '../../src/lenses/values.js'
import type {LensContext} from '../../src/lenses/types.js'
import {queryOp} from '../../src/ops/query.js'
import {fc, test} from '../helpers/fc.js'
import {testKey} from '../helpers/records.js'
import {prng} from '../helpers/simnet.js'

const keys = [1, 2, 3, 4].map(testKey)
const BASE = Date.parse('2026-01-01T00:00:00Z')

/** A small world: assertions on one pair from four agents, votes, retractions, an endorsement and an epoch. */
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, {nil: undefined})
/** Values equal in JSON but written differently ({k, j}, {j, k}), and ones only the reliability lens merges ("a", ["a"]). */
const VALUES = [0, 1, 2, 3, 'a', ['a'], ['a', 'b'], ['b', 'a'], {k: 1, j: 2}, {j: 2, k: 1}]
const op = fc.oneof(
  {weight: 3, arbitrary: fc.record({
    k: fc.constant('a' as const),
    agent: fc.nat(3),
    value: fc.constantFrom(...VALUES),
    source: opt(fc.constantFrom('s:1', 's:2', 's:3')),
    confidence: fc.constantFrom(0, 0.5, 0.8, 1),
    epoch: fc.boolean(),
    supersedes: opt(fc.nat(20)),
    evidence: opt(fc.nat(20)),
    valid: opt(fc.constantFrom({from: '2026-01-01T00:00:05Z'}, {to: '2026-01-01T00:00:15Z'}, {from: '2025-01-01T00:00:00Z', to: '2026-01-01T00:00:10Z'})),
  })},
  fc.record({k: fc.constant('v' as const), agent: fc.nat(3), target: fc.nat(20), weight: fc.constantFrom(1, -1, 0)}),
  fc.record({k: fc.constant('r' as const), agent: fc.nat(3), target: fc.nat(20)}),
  fc.record({k: fc.constant('rs' as const), agent: fc.nat(3), source: fc.constantFrom('s:1', 's:2', 's:3')}),
  fc.record({k: fc.constant('t' as const), agent: fc.nat(3), target: fc.nat(3), weight: fc.constantFrom(0, 0.5, 1)}),
)

function build(ops: Array<fc.infer<typeof op>>): Sealed[] {
  const out: Sealed[] = [seal({v: 1, kind: 'epoch', agent: keys[0].publicHex, hlc: formatHlc({wall: BASE, counter: 0}), name: 'e1', starts: '2026-01-01T00:00:10Z'}, keys[0])]
  const assertions: string[] = []
  ops.forEach((o, i) => {
    const key = keys[o.agent]
    const hlc = formatHlc({wall: BASE + i * 1000, counter: 1})
    let body: Record<string, unknown> | undefined
    const earlier = (n: number | undefined) => (n !== undefined && assertions.length ? [assertions[n % assertions.length]] : undefined)
    if (o.k === 'a') {
      const [supersedes, evidence] = [earlier(o.supersedes), earlier(o.evidence)]
      body = {kind: 'assertion', subject: 's:x', predicate: 'p', value: o.value, confidence: o.confidence, ...(o.source ? {source: o.source} : {}), ...(o.epoch ? {epoch: 'e1'} : {}), ...(supersedes ? {supersedes} : {}), ...(evidence ? {evidence} : {}), ...(o.valid ? {valid: o.valid} : {})}
    } else if (o.k === 'rs') body = {kind: 'retract', source: o.source}
    else if (o.k === 'v' && assertions.length) body = {kind: 'vote', target: assertions[o.target % assertions.length], weight: o.weight}
    else if (o.k === 'r' && assertions.length) body = {kind: 'retract', target: assertions[o.target % assertions.length]}
    else if (o.k === 't' && o.target !== o.agent) body = {kind: 'trust', target: keys[o.target].publicHex, weight: o.weight}
    if (!body) return
    const s = seal({v: 1, agent: key.publicHex, hlc, ...body} as unknown as RecordBody, key)
    if (o.k === 'a') assertions.push(s.record.id)
    out.push(s)
  })
  return out
}

// Sizes up to the maximum: by default fast-check keeps arrays small (about 6 ops, one assertion),
// too few for the same agent to say two things or for votes and retractions to meet them.
const world = fc.array(op, {minLength: 1, maxLength: 24, size: 'max'})
const expressions = [...LENS_NAMES, 'epoch:current, then trust, else votes, else recency', 'skeptic(threshold=0.3), else confidence']

const deps = (store: MemoryStore) => ({store, config: {...DEFAULT_CONFIG, raw: {lenses: {authority: {order: ['s:2', 's:1']}}}}, self: keys[0].publicHex})
const essence = (r: Awaited<ReturnType<typeof queryOp>>) => r.resolutions.map((x) => ({status: x.status, winner: x.winner?.key, ranking: x.candidates.map((c) => [c.key, c.score, c.probability]), conflict: x.conflict, explanation: x.explanation}))

describe('lens properties', () => {
  test.prop([world, fc.constantFrom(...expressions), fc.integer(), opt(fc.constantFrom('2026-01-01T00:00:08Z', '2026-01-01T00:00:20Z'))], {numRuns: 150})('the answer does not depend on the order of candidates, votes or context', async (ops, text, seed, validAt) => {
    const store = new MemoryStore()
    await store.insert(build(ops))
    // Resolve directly with shuffled inputs, against the same gathered context.
    const {gatherContext} = await import('../../src/ops/context.js')
    const cands = await store.assertions('s:x', 'p')
    const ctx = await gatherContext(deps(store), cands, {now: BASE + 1e9, self: keys[0].publicHex, validAt})
    const expr = compile(text, ctx.params)
    // mulberry32: the multiply-mod LCG this used lost its low bits to floating point (s * 1103515245
    // passes 2^53), so j = s % (i + 1) hardly varied and most shuffles were near the identity.
    const r = prng(seed)
    const shuffle = <T>(xs: readonly T[]): T[] => {
      const a = [...xs]
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1))
        ;[a[i], a[j]] = [a[j], a[i]]
      }
      return a
    }
    const shuffledCtx: LensContext = {...ctx, votes: shuffle(ctx.votes as Vote[]), epochs: shuffle(ctx.epochs), trust: new Map(shuffle([...ctx.trust])), retracted: new Map(shuffle([...ctx.retracted])), superseded: new Map(shuffle([...ctx.superseded]))}
    const a = resolve(expr, cands, ctx)
    const b = resolve(expr, shuffle(cands as Assertion[]), shuffledCtx)
    expect(b).toEqual(a)
  })

  test.prop([world, world, fc.constantFrom(...expressions)], {numRuns: 40})('merging two stores, then querying, gives the same answer on both', async (opsA, opsB, text) => {
    const recsA = build(opsA)
    const recsB = build(opsB).map((s) => s)
    const left = new MemoryStore()
    const right = new MemoryStore()
    await left.insert(recsA)
    await right.insert([...recsB].reverse())
    // Merge is set union, in whatever order each side receives the other's records.
    await left.insert([...recsB].reverse())
    await right.insert(recsA)
    const ql = await queryOp(deps(left), {subject: 's:x', predicate: 'p', lens: text, now: BASE + 1e9})
    const qr = await queryOp(deps(right), {subject: 's:x', predicate: 'p', lens: text, now: BASE + 1e9})
    expect(essence(qr)).toEqual(essence(ql))
  })

  // One value, however many agents, sources, confidences (0 and 1 included), votes, epochs and
  // endorsements, and however its JSON is written: every lens names it, or abstains where
  // docs/lenses.md says it does (authority without a match, trust without trust, epoch in
  // an era it does not look at); never a tie, a contest, another value, or a conflict.
  const FORMS = [[{k: 1, j: 2}, {j: 2, k: 1}], [1, 1.0], ['a', ['a']]] as const
  test.prop([world, fc.nat(FORMS.length - 1)], {numRuns: 80})('a single value wins through every lens that does not abstain, at probability 1 and conflict 0', async (ops, f) => {
    const forms = FORMS[f]
    const one = ops.map((o, i) => (o.k === 'a' ? {...o, value: forms[i % 2] as (typeof VALUES)[number]} : o))
    const store = new MemoryStore()
    await store.insert(build(one))
    for (const text of LENS_NAMES) {
      const q = await queryOp(deps(store), {subject: 's:x', predicate: 'p', lens: text, now: BASE + 1e9})
      const r = q.resolutions[0]
      if (r.status === 'empty') continue
      // Every form not retracted, superseded or not: without a date the score is the highest any date
      // gives, and at a date before its superseder held a superseded form holds beside the other.
      const forms = new Set(q.candidates.filter((c) => c.state !== 'retracted').map((c) => valueKey({value: c.value} as Assertion)))
      const keys = new Set(r.candidates.map((c) => c.key))
      // "a" and ["a"] are one value to reliability only; other lenses list both forms, one of them may win.
      if (keys.size > 1 || (forms.size > 1 && text !== 'reliability')) {
        expect(f, `${text}: ${[...keys].join(', ')}`).toBe(2)
        expect(text).not.toBe('reliability')
        continue
      }
      expect(['decided', ...(['authority', 'trust', 'epoch'].includes(text) ? ['abstain'] : [])], `${text}: ${r.explanation.join(' / ')}`).toContain(r.status)
      expect(r.conflict, text).toBe(0)
      if (r.status === 'decided') expect(r.winner?.probability, text).toBe(1)
    }
  })
})

describe('trust score properties', () => {
  const agents = [1, 2, 3, 4, 5, 6].map(testKey)
  const edge = fc.record({from: fc.nat(5), to: fc.nat(5), weight: fc.constantFrom(0.2, 0.5, 1)})
  const endorse = (from: number, to: number, weight: number, i: number) =>
    seal({v: 1, kind: 'trust', agent: agents[from].publicHex, hlc: formatHlc({wall: BASE + i * 1000, counter: 0}), target: agents[to].publicHex, weight} as RecordBody, agents[from]).record as Trust
  test.prop([fc.array(edge, {maxLength: 20}), fc.nat(4), fc.array(fc.record({to: fc.nat(5), weight: fc.constantFrom(0.2, 0.5, 1)}), {minLength: 1, maxLength: 4})], {numRuns: 200})(
    "an agent's own endorsements never change its own score: it cannot endorse its way up, in a ring or otherwise",
    (graph, who, extra) => {
      const j = who + 1 // agent 0 is the pre-trusted one
      const base = graph.filter((e) => e.from !== e.to && e.from !== j).map((e, i) => endorse(e.from, e.to, e.weight, i))
      const more = extra.filter((e) => e.to !== j).map((e, i) => endorse(j, e.to, e.weight, 100 + i))
      const before = trustScores(base, [agents[0].publicHex]).get(agents[j].publicHex)?.score ?? 0
      const after = trustScores([...base, ...more], [agents[0].publicHex]).get(agents[j].publicHex)?.score ?? 0
      expect(after).toBeCloseTo(before, 9)
    },
  )
})
