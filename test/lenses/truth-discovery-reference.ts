/** The truth-discovery pass as it was before copy detection and partial claims were made near-linear: quadratic in the witnesses per object, kept as the reference the fast pass must equal exactly. */
import type {Json} from '../../src/core/record.js'
import {effectiveQuality, elementsOf, posteriors, type Claim, type TruthResult} from '../../src/lenses/truth-discovery.js'
import type {WitnessQuality} from '../../src/lenses/types.js'

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
  /** Stop when no rate moves more than this, or after maxIterations. */
  tolerance?: number
  maxIterations?: number
}

export const TRUTH_DEFAULTS: Required<TruthOptions> = {prior: 0.5, sensitivity: 0.8, falsePositive: 0.1, shrink: 2, falsePositiveStrength: 100, copyDetection: true, copyPrior: 0.2, copyRate: 0.8, falseValues: 10, tolerance: 1e-4, maxIterations: 100}

interface Obs {
  witness: number
  /** Element indexes this witness lists, as a set over the object's elements. */
  listed: Uint8Array
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

const clamp = (p: number) => Math.min(1 - 1e-9, Math.max(1e-9, p))

/**
 * Which claims on one object are partial: their elements a strict subset of another claim's.
 * A witness that names only some of what others name may be truncating (a display limit, "et
 * al.", only the first author) rather than denying the rest, and how often a witness's partial
 * claims leave true elements out is a habit of its own, learned apart from its full claims.
 */
export function partialClaims(sets: ReadonlyArray<ArrayLike<number>>): boolean[] {
  const sizes = sets.map((x) => {
    let n = 0
    for (let e = 0; e < x.length; e++) n += x[e] ? 1 : 0
    return n
  })
  return sets.map((a, i) =>
    sets.some((b, j) => {
      if (sizes[j] <= sizes[i]) return false
      for (let e = 0; e < a.length; e++) if (a[e] && !b[e]) return false
      return true
    }),
  )
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
 * mistake picking one of `falseValues` wrong values. Only pairs above 0.01 are kept.
 */
function dependence(objs: Obj[], n: number, post: (o: Obj) => Float64Array, opt: Required<TruthOptions>): Map<number, Map<number, number>> {
  const errors = new Float64Array(n)
  const claims = new Float64Array(n)
  const wrong: boolean[][] = []
  for (const o of objs) {
    const p = post(o)
    const flags = o.obs.map((ob) => {
      let bad = false
      // Wrong: it lists something false or leaves out something true (not the most likely set).
      for (let e = 0; e < p.length; e++) if (ob.listed[e] ? p[e] < 0.5 : p[e] >= 0.5) bad = true
      claims[ob.witness]++
      if (bad) errors[ob.witness]++
      return bad
    })
    wrong.push(flags)
  }
  // Each witness's rate of claims with a false element, smoothed (a witness seen once is not perfect).
  const eps = (w: number) => (errors[w] + 1) / (claims[w] + 2)
  const sameFalse = new Map<number, number>()
  const differ = new Map<number, number>()
  objs.forEach((o, i) => {
    for (let a = 0; a < o.obs.length; a++) {
      for (let b = a + 1; b < o.obs.length; b++) {
        const x = o.obs[a]
        const y = o.obs[b]
        const k = Math.min(x.witness, y.witness) * n + Math.max(x.witness, y.witness)
        if (x.key === y.key) {
          if (wrong[i][a]) sameFalse.set(k, (sameFalse.get(k) ?? 0) + 1)
        } else differ.set(k, (differ.get(k) ?? 0) + 1)
      }
    }
  })
  const out = new Map<number, Map<number, number>>()
  const c = opt.copyRate
  for (const [k, kf] of sameFalse) {
    const a = Math.floor(k / n)
    const b = k % n
    const ea = eps(a)
    const eb = eps(b)
    const pInd = (ea * eb) / opt.falseValues
    const pCopy = (c * (ea + eb)) / 2 + (1 - c) * pInd
    const logRatio = kf * Math.log(pCopy / pInd) + (differ.get(k) ?? 0) * Math.log(1 - c)
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
export function weighClaims<T extends {witness: W; key: string; weight: number}, W>(obs: T[], copies: ReadonlyMap<W, ReadonlyMap<W, number>>, score: (w: W) => number, copyRate: number): void {
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
    for (let i = 1; i < g.length; i++) {
      const mine = copies.get(g[i].witness)
      if (!mine) continue
      let w = 1
      for (let j = 0; j < i; j++) w *= 1 - copyRate * (mine.get(g[j].witness) ?? 0)
      g[i].weight = w
    }
  }
}

/** Learn witness rates from claims. Each (object, witness) should appear once: the witness's latest claim. */
export function discoverTruth(claims: Iterable<Claim>, options: TruthOptions = {}): TruthResult {
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
    const listed = o.raw.map((r) => {
      const l = new Uint8Array(o.elements.size)
      for (const e of r.els) l[o.elements.get(e)!] = 1
      return l
    })
    const partial = partialClaims(listed)
    return {elements: [...o.elements.keys()], obs: o.raw.map((r, i) => ({witness: r.witness, listed: listed[i], partial: partial[i], weight: 1, key: [...r.els].sort().join('\u0000')}))}
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
    copies = dependence(objs, n, (o) => posteriors(o.elements.length, o.obs.map((ob) => ({listed: ob.listed, quality: quality0(ob.witness, ob.partial)})), opt.prior), opt)
    for (const o of objs) weighClaims(o.obs, copies, (w) => sens[w] * (1 - fpr[w]), opt.copyRate)
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
      const p = posteriors(
        o.elements.length,
        o.obs.map((ob) => ({listed: ob.listed, quality: quality0(ob.witness, ob.partial), weight: ob.weight})),
        opt.prior,
      )
      for (const ob of o.obs) {
        const T = ob.partial ? ptp : tp
        const P = ob.partial ? ppos : pos
        for (let e = 0; e < p.length; e++) {
          P[ob.witness] += p[e]
          neg[ob.witness] += 1 - p[e]
          if (ob.listed[e]) {
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
    if (c?.size) q.copies = Object.fromEntries([...c].map(([v, d]) => [names[v], Math.round(d * 1e6) / 1e6] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1)))
    quality.set(names[w], q)
  }
  return {quality, pooled, iterations, converged}
}
