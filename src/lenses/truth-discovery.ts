/**
 * Iterative truth discovery: learn how reliable each witness is from agreement across all
 * objects, and what is true, together until they converge.
 *
 * The model is the Latent Truth Model of Zhao et al. (VLDB 2012), solved by deterministic EM
 * instead of Gibbs sampling. A value is a set of elements (an array's items; any other value is
 * one element). For every object, each element is true or false; a witness that speaks about
 * the object either lists an element or leaves it out. Each witness has two rates: sensitivity
 * (it lists what is true) and false-positive rate (it lists what is false). Leaving an element
 * out is evidence against it only in proportion to the witness's sensitivity, so incomplete
 * witnesses (a store that names only the first author) do not outvote complete ones, while
 * witnesses that list wrong things lose weight. Rates are shrunk towards the pooled rates of
 * all witnesses (empirical Bayes), so a witness seen once gets the population's rates rather
 * than a guess. Compared with TruthFinder (Yin et al., KDD 2007), which only rewards agreement,
 * this two-sided model is what lets it prefer complete lists over truncated ones.
 */
import {canonicalize} from '../core/canonical.js'
import type {Json} from '../core/record.js'
import type {WitnessQuality} from './types.js'

export interface Claim {
  /** What the claim is about (subject and predicate). */
  object: string
  witness: string
  value: Json
}

export interface TruthOptions {
  /** Prior probability that an element named by some witness is true. */
  prior?: number
  /** Starting rates: witnesses start better than chance. The false-positive prior (0.1 with the
   * weight of 100 elements) is the one public LTM implementations use (alpha0 = 90/10). */
  sensitivity?: number
  falsePositive?: number
  /** Weight, in claims, of the pooled rates each witness's own rates are shrunk towards. */
  shrink?: number
  /**
   * Strength, in pseudo-elements, of the prior that a witness rarely lists false elements (mean
   * `falsePositive`). Strong, as the LTM paper advises: false claims are rarer than omissions,
   * and without it "the complete witnesses list false things" explains the data as well as
   * "the incomplete witnesses leave true things out".
   */
  falsePositiveStrength?: number
  /** Copy detection (see dependence): on or off, prior probability a pair copies, how often a copier copies, how many wrong values an independent mistake picks from. */
  copyDetection?: boolean
  copyPrior?: number
  copyRate?: number
  falseValues?: number
  /**
   * Copy detection compares each wrong claim on an object with at most this many of the equal
   * claims ranked before it there (see dependence): a group of equal wrong claims up to one
   * larger is compared pair by pair, a larger one (a flood) in a window, so its cost and the
   * copy pairs it yields grow with its size, not its square.
   */
  copyWindow?: number
  /** Stop when no rate moves more than this, or after maxIterations. */
  tolerance?: number
  maxIterations?: number
}

export const TRUTH_DEFAULTS: Required<TruthOptions> = {prior: 0.5, sensitivity: 0.8, falsePositive: 0.1, shrink: 2, falsePositiveStrength: 100, copyDetection: true, copyPrior: 0.2, copyRate: 0.8, falseValues: 10, copyWindow: 32, tolerance: 1e-4, maxIterations: 100}

export interface TruthResult {
  quality: Map<string, WitnessQuality>
  /** Pooled rates, used for witnesses not seen in training. */
  pooled: WitnessQuality
  iterations: number
  converged: boolean
}

/** The elements a value stands for: an array's distinct items, or the value itself. */
export function elementsOf(value: Json): string[] {
  if (Array.isArray(value)) return [...new Set(value.map((x) => canonicalize(x)))]
  return [canonicalize(value)]
}

interface Obs {
  witness: number
  /** Element indexes this witness lists, as a set over the object's elements: only on objects of at most EXACT_ELEMENTS elements (see there). */
  listed?: Uint8Array
  /** The same element indexes, ascending. */
  els: number[]
  /** The claim is a strict subset of another witness's claim on the object (see partialClaims). */
  partial: boolean
  /** How much of an independent witness this claim counts for (copy detection), in [0, 1]. */
  weight: number
  /** The claim's elements, canonical and sorted, joined: equal claims have equal keys. */
  key: string
}
interface Obj {
  elements: string[]
  obs: Obs[]
}

/**
 * Up to this many elements named on one object, the sums over its witnesses run element by
 * element in one fixed order (the pass is exact: bit for bit what it always was). Past it (a
 * subject flooded with values of their own, or very long lists) they are sparse: every witness's
 * evidence for leaving an element out is summed once, and each element adjusted by the few that
 * list it, so the cost grows with the claims, not claims times elements. The same terms in another
 * order: the numbers can differ in their last bits. The Book dataset names at most 19 authors on
 * a book.
 */
export const EXACT_ELEMENTS = 64

/**
 * What a pass cost, in steps of the parts that compare claims with claims: element checks of
 * one set against another (partialClaims), pairs of equal wrong claims and claim pairs checked
 * for a difference (copy detection), copy factors multiplied or looked up (weighClaims). Tests
 * read it to hold the pass near-linear in the witnesses per object.
 */
export interface TruthStats {
  steps: number
  /**
   * Witness-element pairs the sums over an object's witnesses visit (posteriors and the rates'
   * sums), where counted: witnesses times elements on an object up to EXACT_ELEMENTS, the
   * witnesses and what they list past it.
   */
  cells?: number
}

const clamp = (p: number) => Math.min(1 - 1e-9, Math.max(1e-9, p))

/**
 * Which claims on one object are partial: their elements a strict subset of another claim's.
 * A witness that names only some of what others name may be truncating (a display limit, "et
 * al.", only the first author) rather than denying the rest, and how often a witness's partial
 * claims leave true elements out is a habit of its own, learned apart from its full claims.
 */
export function partialClaims(sets: ReadonlyArray<ArrayLike<number>>, stats?: TruthStats): boolean[] {
  if (sets.length <= PAIRWISE) return pairwisePartial(sets, stats)
  return partialLists(
    sets.map((x) => {
      const els: number[] = []
      for (let e = 0; e < x.length; e++) if (x[e]) els.push(e)
      return els
    }),
    stats,
  )
}

/** partialClaims on each claim's element indexes, ascending and without repeats, rather than one flag per element. */
export function partialLists(lists: ReadonlyArray<ArrayLike<number>>, stats?: TruthStats): boolean[] {
  // Whether a claim is partial depends on its set alone, so each distinct set is judged once (a
  // flood of one value is one set), against only the sets that hold its rarest element: a
  // superset holds all of them. Comparing every pair of claims took minutes on 20,000 witnesses.
  const distinct = new Map<string, number>()
  const members: Array<ArrayLike<number>> = []
  const of = lists.map((els) => {
    const k = Array.prototype.join.call(els, ',')
    let d = distinct.get(k)
    if (d === undefined) {
      distinct.set(k, (d = members.length))
      members.push(els)
    }
    return d
  })
  const holding = new Map<number, number[]>()
  for (let d = 0; d < members.length; d++) {
    const els = members[d]
    for (let x = 0; x < els.length; x++) {
      const e = els[x]
      const list = holding.get(e)
      if (list) list.push(d)
      else holding.set(e, [d])
    }
  }
  const anyNonEmpty = members.some((m) => m.length > 0)
  const partial = members.map((els) => {
    // The empty set is a strict subset of every other set.
    if (els.length === 0) return anyNonEmpty
    let rarest = holding.get(els[0])!
    for (let x = 1; x < els.length; x++) if (holding.get(els[x])!.length < rarest.length) rarest = holding.get(els[x])!
    return rarest.some((d) => {
      if (stats) stats.steps++
      const b = members[d]
      if (b.length <= els.length) return false
      if (stats) stats.steps += els.length
      // Both ascending: walk them together.
      let y = 0
      for (let x = 0; x < els.length; x++) {
        while (y < b.length && b[y] < els[x]) y++
        if (y === b.length || b[y] !== els[x]) return false
      }
      return true
    })
  })
  return of.map((d) => partial[d])
}

/** Up to this many claims, comparing every pair costs less than indexing the distinct sets. */
const PAIRWISE = 16

function pairwisePartial(sets: ReadonlyArray<ArrayLike<number>>, stats?: TruthStats): boolean[] {
  const sizes = sets.map((x) => {
    let n = 0
    for (let e = 0; e < x.length; e++) n += x[e] ? 1 : 0
    return n
  })
  return sets.map((a, i) =>
    sets.some((b, j) => {
      if (stats) stats.steps++
      if (sizes[j] <= sizes[i]) return false
      if (stats) stats.steps += a.length
      for (let e = 0; e < a.length; e++) if (a[e] && !b[e]) return false
      return true
    }),
  )
}

/** A witness's rates for one claim: partial claims use the sensitivity learned on its partial claims. */
export function effectiveQuality(q: WitnessQuality, partial: boolean): WitnessQuality {
  return partial && q.partialSensitivity !== undefined ? {...q, sensitivity: q.partialSensitivity} : q
}

/** Each witness's log-likelihood terms for an element it lists (t, f: if the element is true, false) and leaves out (nt, nf), times its weight: once per witness, not once per element. */
function logTerms(obs: ReadonlyArray<{quality: WitnessQuality; weight?: number}>) {
  const n = obs.length
  const t = new Float64Array(n)
  const f = new Float64Array(n)
  const nt = new Float64Array(n)
  const nf = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const o = obs[i]
    const s = clamp(o.quality.sensitivity)
    const fp = clamp(o.quality.falsePositive)
    const w = o.weight ?? 1
    t[i] = w * Math.log(s)
    f[i] = w * Math.log(fp)
    nt[i] = w * Math.log(1 - s)
    nf[i] = w * Math.log(1 - fp)
  }
  return {t, f, nt, nf}
}

/** A claim's elements as their indexes on the object, ascending (a plain array: a typed array per claim cost a one-value flood of 20,000 a tenth more). */
export function indexes(els: readonly string[], index: ReadonlyMap<string, number>): number[] {
  const out = els.map((e) => index.get(e)!)
  if (out.length > 1) out.sort((a, b) => a - b)
  return out
}

/** Posterior truth of each element of one object, given witness rates: each element's sum over the witnesses in their order (exact; see EXACT_ELEMENTS). */
export function posteriors(elementCount: number, obs: ReadonlyArray<{listed: ArrayLike<number>; quality: WitnessQuality; weight?: number}>, prior: number, stats?: TruthStats): Float64Array {
  const out = new Float64Array(elementCount)
  const lp = Math.log(prior)
  const lq = Math.log(1 - prior)
  const {t, f, nt, nf} = logTerms(obs)
  if (stats?.cells !== undefined) stats.cells += elementCount * obs.length
  for (let e = 0; e < elementCount; e++) {
    let lt = lp
    let lf = lq
    for (let i = 0; i < obs.length; i++) {
      if (obs[i].listed[e]) {
        lt += t[i]
        lf += f[i]
      } else {
        lt += nt[i]
        lf += nf[i]
      }
    }
    out[e] = 1 / (1 + Math.exp(lf - lt))
  }
  return out
}

/**
 * The same posteriors from each witness's element indexes, summed sparsely: every witness's
 * terms for leaving an element out once, then each element moved by the witnesses that list it.
 * In proportion to the witnesses and what they list, not to witnesses times elements; equal to
 * posteriors up to rounding (the same terms, added in another order).
 */
export function sparsePosteriors(elementCount: number, obs: ReadonlyArray<{els: ArrayLike<number>; quality: WitnessQuality; weight?: number}>, prior: number, stats?: TruthStats): Float64Array {
  const {t, f, nt, nf} = logTerms(obs)
  let baseT = Math.log(prior)
  let baseF = Math.log(1 - prior)
  for (let i = 0; i < obs.length; i++) {
    baseT += nt[i]
    baseF += nf[i]
  }
  const lt = new Float64Array(elementCount).fill(baseT)
  const lf = new Float64Array(elementCount).fill(baseF)
  for (let i = 0; i < obs.length; i++) {
    const els = obs[i].els
    if (stats?.cells !== undefined) stats.cells += els.length + 1
    for (let x = 0; x < els.length; x++) {
      lt[els[x]] += t[i] - nt[i]
      lf[els[x]] += f[i] - nf[i]
    }
  }
  const out = new Float64Array(elementCount)
  for (let e = 0; e < elementCount; e++) out[e] = 1 / (1 + Math.exp(lf[e] - lt[e]))
  if (stats?.cells !== undefined) stats.cells += elementCount
  return out
}

/** An object's posteriors: exact up to EXACT_ELEMENTS elements, sparse past it. */
function objectPosteriors(o: Obj, quality: (ob: Obs) => WitnessQuality, weighted: boolean, prior: number, stats?: TruthStats): Float64Array {
  if (o.elements.length > EXACT_ELEMENTS) return sparsePosteriors(o.elements.length, o.obs.map((ob) => ({els: ob.els, quality: quality(ob), ...(weighted ? {weight: ob.weight} : {})})), prior, stats)
  return posteriors(o.elements.length, o.obs.map((ob) => ({listed: ob.listed!, quality: quality(ob), ...(weighted ? {weight: ob.weight} : {})})), prior, stats)
}

/**
 * Copy detection (after Dong, Berti-Equille and Srivastava, VLDB 2009): two witnesses that make
 * the same wrong claim (it lists something false or leaves out something true), on object after
 * object, are not independent: honest witnesses share the truth, and independent mistakes rarely
 * coincide. Witnesses that cut lists the same way by habit also share wrong claims; counting
 * them as one is right too, since their errors are correlated all the same. For each pair that
 * shares objects, the probability that they depend on each other (in either direction) from:
 * shared wrong claims (evidence for), differing claims (evidence against), and shared right
 * claims (no evidence: everyone honest shares them), with
 * the prior `copyPrior`, a copier copying with probability `copyRate`, and an independent
 * mistake picking one of `falseValues` wrong values. Only pairs above 0.01 are kept. A group of
 * more than `copyWindow` + 1 equal wrong claims on one object is paired in a window (each claim
 * with the `copyWindow` ranked just before it), so a flood costs in proportion to its size.
 */
function dependence(objs: Obj[], n: number, post: (o: Obj) => Float64Array, score: (w: number) => number, opt: Required<TruthOptions>, stats?: TruthStats): Map<number, Map<number, number>> {
  const errors = new Float64Array(n)
  const claims = new Float64Array(n)
  const wrong: boolean[][] = []
  for (const o of objs) {
    const p = post(o)
    // Wrong: it lists something false or leaves out something true (not the most likely set):
    // some element it lists is below 0.5, or it lists fewer of those at 0.5 or more than there are.
    let believed = 0
    for (let e = 0; e < p.length; e++) if (p[e] >= 0.5) believed++
    const flags = o.obs.map((ob) => {
      let bad = false
      let held = 0
      for (let x = 0; x < ob.els.length; x++) {
        if (p[ob.els[x]] < 0.5) bad = true
        else held++
      }
      if (held < believed) bad = true
      claims[ob.witness]++
      if (bad) errors[ob.witness]++
      return bad
    })
    wrong.push(flags)
  }
  // Each witness's rate of claims with a false element, smoothed (a witness seen once is not perfect).
  const eps = (w: number) => (errors[w] + 1) / (claims[w] + 2)
  // Only pairs that share a wrong claim can come out dependent, so only those are counted: the
  // members of each group of equal wrong claims, paired with each other, then, for each such
  // pair, the objects where the two differ. Counting every pair that shares an object made a
  // subject with 20,000 witnesses cost 200 million steps, though nearly all of them agree and
  // are right.
  const sameFalse = new Map<number, number>()
  const spoken: Array<Map<number, string[]>> = Array.from({length: n}, () => new Map())
  objs.forEach((o, i) => {
    const groups = new Map<string, number[]>()
    o.obs.forEach((ob, a) => {
      const g = groups.get(ob.key)
      if (g) g.push(a)
      else groups.set(ob.key, [a])
      const said = spoken[ob.witness].get(i)
      if (said) said.push(ob.key)
      else spoken[ob.witness].set(i, [ob.key])
    })
    for (const g of groups.values()) {
      const window = opt.copyWindow
      // A flood: each claim is compared with the `window` ranked just before it, in the order
      // weighClaims counts them (most reliable first), so the first window + 1 are weighed as
      // if every pair had been compared, and every later one still against `window` others.
      if (g.length > window + 1) g.sort((x, y) => score(o.obs[y].witness) - score(o.obs[x].witness) || o.obs[x].witness - o.obs[y].witness)
      for (let x = 0; x < g.length; x++) {
        if (!wrong[i][g[x]]) continue
        const u = o.obs[g[x]].witness
        for (let y = x + 1; y < g.length && y <= x + window; y++) {
          const v = o.obs[g[y]].witness
          const k = Math.min(u, v) * n + Math.max(u, v)
          sameFalse.set(k, (sameFalse.get(k) ?? 0) + 1)
          if (stats) stats.steps++
        }
      }
    }
  })
  // Objects where both speak and their claims differ (each pair of their claims there, should a
  // witness speak twice about one object).
  const differ = (a: number, b: number): number => {
    const [few, other] = spoken[a].size <= spoken[b].size ? [spoken[a], spoken[b]] : [spoken[b], spoken[a]]
    let count = 0
    if (stats) stats.steps += few.size
    for (const [i, keys] of few) {
      if (a === b) {
        for (let x = 0; x < keys.length; x++) for (let y = x + 1; y < keys.length; y++) if (keys[x] !== keys[y]) count++
        continue
      }
      const theirs = other.get(i)
      if (theirs) for (const x of keys) for (const y of theirs) if (x !== y) count++
    }
    return count
  }
  const out = new Map<number, Map<number, number>>()
  const c = opt.copyRate
  for (const [k, kf] of sameFalse) {
    const a = Math.floor(k / n)
    const b = k % n
    const ea = eps(a)
    const eb = eps(b)
    const pInd = (ea * eb) / opt.falseValues
    const pCopy = (c * (ea + eb)) / 2 + (1 - c) * pInd
    const logRatio = kf * Math.log(pCopy / pInd) + differ(a, b) * Math.log(1 - c)
    const d = 1 / (1 + ((1 - opt.copyPrior) / opt.copyPrior) * Math.exp(-logRatio))
    if (d < 0.01) continue
    for (const [u, v] of [[a, b], [b, a]] as const) {
      let m = out.get(u)
      if (!m) out.set(u, (m = new Map()))
      m.set(v, d)
    }
  }
  return out
}

/**
 * Weigh the claims on one object by independence: among witnesses making the same claim, the
 * best (by `score`, then by index) counts fully, each next one for the chance it did not copy
 * any of those before it: the product of (1 - copyRate * P(copy)).
 */
export function weighClaims<T extends {witness: W; key: string; weight: number}, W>(obs: T[], copies: ReadonlyMap<W, ReadonlyMap<W, number>>, score: (w: W) => number, copyRate: number, stats?: TruthStats): void {
  const groups = new Map<string, T[]>()
  for (const ob of obs) {
    ob.weight = 1
    const g = groups.get(ob.key)
    if (g) g.push(ob)
    else groups.set(ob.key, [ob])
  }
  for (const g of groups.values()) {
    if (g.length < 2) continue
    g.sort((x, y) => score(y.witness) - score(x.witness) || (x.witness < y.witness ? -1 : x.witness > y.witness ? 1 : 0))
    // Where each witness stands in the group: a claim's weight multiplies over the copy partners
    // it has, not over everyone before it (a factor of 1 changes nothing). Over everyone, a flood
    // of one value took a lookup per pair of its witnesses.
    let at: Map<W, number[]> | undefined
    for (let i = 1; i < g.length; i++) {
      const mine = copies.get(g[i].witness)
      if (!mine) continue
      let w = 1
      if (stats) stats.steps += Math.min(mine.size, i)
      if (mine.size >= i) {
        for (let j = 0; j < i; j++) w *= 1 - copyRate * (mine.get(g[j].witness) ?? 0)
      } else {
        // The same factors in the same order (by place in the group), so the same product.
        if (!at) {
          at = new Map()
          for (let j = 0; j < g.length; j++) {
            const list = at.get(g[j].witness)
            if (list) list.push(j)
            else at.set(g[j].witness, [j])
          }
        }
        const before: Array<[number, number]> = []
        for (const [v, d] of mine) for (const j of at.get(v) ?? []) if (j < i) before.push([j, d])
        before.sort((x, y) => x[0] - y[0])
        for (const [, d] of before) w *= 1 - copyRate * d
      }
      g[i].weight = w
    }
  }
}

/** Learn witness rates from claims. Each (object, witness) should appear once: the witness's latest claim. */
export function discoverTruth(claims: Iterable<Claim>, options: TruthOptions = {}, stats?: TruthStats): TruthResult {
  const opt = {...TRUTH_DEFAULTS, ...options}
  const witnessIx = new Map<string, number>()
  const names: string[] = []
  const objects = new Map<string, {elements: Map<string, number>; raw: Array<{witness: number; els: string[]}>}>()
  // Sorted input, so the floating-point sums run in one order on every peer.
  const sorted = [...claims].sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : a.witness < b.witness ? -1 : a.witness > b.witness ? 1 : 0))
  for (const c of sorted) {
    let w = witnessIx.get(c.witness)
    if (w === undefined) {
      witnessIx.set(c.witness, (w = names.length))
      names.push(c.witness)
    }
    let o = objects.get(c.object)
    if (!o) objects.set(c.object, (o = {elements: new Map(), raw: []}))
    const els = elementsOf(c.value)
    for (const e of els) if (!o.elements.has(e)) o.elements.set(e, o.elements.size)
    o.raw.push({witness: w, els})
  }
  const objs: Obj[] = [...objects.values()].map((o) => {
    const lists = o.raw.map((r) => indexes(r.els, o.elements))
    // One flag per element and witness only where the elements are few (EXACT_ELEMENTS): a flood
    // of 20,000 values of their own took 400 MB of flags.
    const dense = o.elements.size <= EXACT_ELEMENTS
    const listed = dense
      ? lists.map((els) => {
          const l = new Uint8Array(o.elements.size)
          for (const e of els) l[e] = 1
          return l
        })
      : undefined
    const partial = listed ? partialClaims(listed, stats) : partialLists(lists, stats)
    return {elements: [...o.elements.keys()], obs: o.raw.map((r, i) => ({witness: r.witness, ...(listed ? {listed: listed[i]} : {}), els: lists[i], partial: partial[i], weight: 1, key: [...r.els].sort().join('\u0000')}))}
  })
  const n = names.length
  let sens = new Float64Array(n).fill(opt.sensitivity)
  let psens = new Float64Array(n).fill(opt.sensitivity)
  let fpr = new Float64Array(n).fill(opt.falsePositive)
  const claimCount = new Float64Array(n)
  for (const o of objs) for (const ob of o.obs) claimCount[ob.witness]++
  let pooled: WitnessQuality = {sensitivity: opt.sensitivity, partialSensitivity: opt.sensitivity, falsePositive: opt.falsePositive, claims: sorted.length}
  let iterations = 0
  let converged = false
  let copies = new Map<number, Map<number, number>>()
  const quality0 = (w: number, partial: boolean): WitnessQuality => ({sensitivity: partial ? psens[w] : sens[w], falsePositive: fpr[w], claims: 0})
  for (let round = 0; round < (opt.copyDetection ? 2 : 1); round++) {
  if (round === 1) {
    // Copy detection, once the rates have settled: find the pairs of witnesses that repeat each
    // other's mistakes, then count each claim for as much of an independent witness as it is.
    const score = (w: number) => sens[w] * (1 - fpr[w])
    copies = dependence(objs, n, (o) => objectPosteriors(o, (ob) => quality0(ob.witness, ob.partial), false, opt.prior, stats), score, opt, stats)
    for (const o of objs) weighClaims(o.obs, copies, score, opt.copyRate, stats)
    converged = false
  }
  while (iterations < opt.maxIterations) {
    iterations++
    // True elements listed / true elements, on full and on partial claims apart.
    const tp = new Float64Array(n)
    const pos = new Float64Array(n)
    const ptp = new Float64Array(n)
    const ppos = new Float64Array(n)
    const fp = new Float64Array(n)
    const neg = new Float64Array(n)
    for (const o of objs) {
      const p = objectPosteriors(o, (ob) => quality0(ob.witness, ob.partial), true, opt.prior, stats)
      if (o.elements.length > EXACT_ELEMENTS) {
        // Sparse (see EXACT_ELEMENTS): the sums over all elements once for the object, then each
        // witness's listed elements.
        let all = 0
        let none = 0
        for (let e = 0; e < p.length; e++) {
          all += p[e]
          none += 1 - p[e]
        }
        if (stats?.cells !== undefined) stats.cells += p.length
        for (const ob of o.obs) {
          const T = ob.partial ? ptp : tp
          const P = ob.partial ? ppos : pos
          P[ob.witness] += all
          neg[ob.witness] += none
          if (stats?.cells !== undefined) stats.cells += ob.els.length + 1
          for (let x = 0; x < ob.els.length; x++) {
            T[ob.witness] += p[ob.els[x]]
            fp[ob.witness] += 1 - p[ob.els[x]]
          }
        }
        continue
      }
      for (const ob of o.obs) {
        const T = ob.partial ? ptp : tp
        const P = ob.partial ? ppos : pos
        const listed = ob.listed!
        if (stats?.cells !== undefined) stats.cells += p.length
        for (let e = 0; e < p.length; e++) {
          P[ob.witness] += p[e]
          neg[ob.witness] += 1 - p[e]
          if (listed[e]) {
            T[ob.witness] += p[e]
            fp[ob.witness] += 1 - p[e]
          }
        }
      }
    }
    let T = 0
    let P = 0
    let PT = 0
    let PP = 0
    let F = 0
    let N = 0
    for (let w = 0; w < n; w++) {
      T += tp[w]
      P += pos[w]
      PT += ptp[w]
      PP += ppos[w]
      F += fp[w]
      N += neg[w]
    }
    // The pooled rates carry the starting rates as a prior too, so a store where (say) nothing
    // is ever false does not divide by nothing.
    const ps = (T + opt.shrink * opt.sensitivity) / (P + opt.shrink)
    // Partial claims are pooled towards the full-claim rate: without partial claims, no difference.
    const pps = (PT + opt.shrink * ps) / (PP + opt.shrink)
    const kf = opt.falsePositiveStrength
    const pf = (F + kf * opt.falsePositive) / (N + kf)
    pooled = {sensitivity: ps, partialSensitivity: pps, falsePositive: pf, claims: sorted.length}
    const k = opt.shrink
    const nextS = new Float64Array(n)
    const nextP = new Float64Array(n)
    const nextF = new Float64Array(n)
    let delta = 0
    for (let w = 0; w < n; w++) {
      nextS[w] = (tp[w] + k * ps) / (pos[w] + k)
      nextP[w] = (ptp[w] + k * pps) / (ppos[w] + k)
      nextF[w] = (fp[w] + kf * opt.falsePositive) / (neg[w] + kf)
      delta = Math.max(delta, Math.abs(nextS[w] - sens[w]), Math.abs(nextP[w] - psens[w]), Math.abs(nextF[w] - fpr[w]))
    }
    sens = nextS
    psens = nextP
    fpr = nextF
    if (delta < opt.tolerance) {
      converged = true
      break
    }
  }
  }
  const quality = new Map<string, WitnessQuality>()
  for (let w = 0; w < n; w++) {
    const q: WitnessQuality = {sensitivity: sens[w], partialSensitivity: psens[w], falsePositive: fpr[w], claims: claimCount[w]}
    const c = copies.get(w)
    if (c?.size) {
      // Filled in a loop: Object.fromEntries gave each witness's list a shape of its own, 10 s
      // for 20,000 witnesses in a flood of 128 copy partners each; the loop takes 1 s.
      const named: Record<string, number> = {}
      for (const [name, d] of [...c].map(([v, d]) => [names[v], Math.round(d * 1e6) / 1e6] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
        // A witness named __proto__ would set the prototype, not a property.
        if (name === '__proto__') Object.defineProperty(named, name, {value: d, enumerable: true, writable: true, configurable: true})
        else named[name] = d
      }
      q.copies = named
    }
    quality.set(names[w], q)
  }
  return {quality, pooled, iterations, converged}
}
