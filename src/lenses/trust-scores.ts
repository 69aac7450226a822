/**
 * Trust scores from endorsements, EigenTrust-style (Kamvar et al., WWW 2003): a random walk
 * over endorsement weights that restarts at the pre-trusted agents (the store's own key and
 * configured ones). An agent's score is the probability that the walk reaches it before
 * restarting (see hitting), in [0, 1]; pre-trusted agents are 1.
 */
import type {Trust} from '../core/record.js'
import {compareRecords} from '../core/store.js'

export type Tier = 'newcomer' | 'established' | 'trusted' | 'authority'

/** Tier thresholds on the relative score; pre-trusted agents are always `authority`. */
export const TIERS = {trusted: 0.5, established: 0.15} as const
/** Probability of restarting at the pre-trusted set on each step. */
export const RESTART = 0.15

export interface TrustScore {
  agent: string
  score: number
  tier: Tier
  pretrusted: boolean
  /** Current endorsements of this agent: who, with what weight. */
  endorsedBy: Array<{agent: string; weight: number}>
}

export const tierOf = (score: number, pretrusted: boolean): Tier =>
  pretrusted ? 'authority' : score >= TIERS.trusted ? 'trusted' : score >= TIERS.established ? 'established' : 'newcomer'

/**
 * Endorsements: the latest trust record per (agent, target) counts; weight 0 withdraws.
 * An agent's outgoing weights are used as given when they sum to at most 1, else scaled to
 * sum to 1; what an agent does not hand out returns to the pre-trusted set.
 */
export function trustScores(endorsements: readonly Trust[], pretrusted: readonly string[], opts: {budget?: number; stats?: TrustStats} = {}): Map<string, TrustScore> {
  const latest = new Map<string, Trust>()
  for (const t of [...endorsements].sort(compareRecords)) latest.set(`${t.agent}\u0000${t.target}`, t)
  const pre = [...new Set(pretrusted)].sort()
  const agents = new Set<string>(pre)
  const out = new Map<string, Array<{target: string; weight: number}>>()
  const endorsedBy = new Map<string, Array<{agent: string; weight: number}>>()
  for (const t of latest.values()) {
    if (t.weight <= 0 || t.agent === t.target) continue
    agents.add(t.agent)
    agents.add(t.target)
    const list = out.get(t.agent) ?? []
    list.push({target: t.target, weight: t.weight})
    out.set(t.agent, list)
    const by = endorsedBy.get(t.target) ?? []
    by.push({agent: t.agent, weight: t.weight})
    endorsedBy.set(t.target, by)
  }
  const ids = [...agents].sort()
  const result = new Map<string, TrustScore>()
  const preSet = new Set(pre)
  const h = pre.length === 0 ? new Map<string, number>() : hitting(ids, out, preSet, opts.budget ?? WALK_BUDGET, opts.stats)
  for (const a of ids) {
    const isPre = preSet.has(a)
    const score = isPre ? 1 : Math.min(1, h.get(a) ?? 0)
    result.set(a, {agent: a, score, tier: tierOf(score, isPre), pretrusted: isPre, endorsedBy: (endorsedBy.get(a) ?? []).sort((x, y) => y.weight - x.weight || (x.agent < y.agent ? -1 : 1))})
  }
  return result
}

/**
 * Steps of return walks allowed in one scoring, over every agent's walks (an endorsement followed,
 * or an agent a walk stands on, is one step); past it, a bound. One budget for all, not one per
 * strongly connected part: endorsement rings synced from elsewhere, however many, cannot make
 * every query slow.
 */
export const WALK_BUDGET = 5_000_000

/** What a scoring cost: steps of return walks taken (WALK_BUDGET bounds them). */
export interface TrustStats {
  returnSteps: number
}

/**
 * Each agent's score: the probability that the walk, started at a pre-trusted agent (summed over
 * them), reaches it before restarting. A step follows an endorsement with probability
 * (1 - RESTART) times its weight (scaled when an agent's weights sum past 1); reaching a
 * pre-trusted agent starts a walk of its own. Without cycles this is EigenTrust's stationary
 * trust relative to the pre-trusted agents; with them it counts a walk once, where the
 * stationary trust counts every visit, so agents endorsing each other in a ring cannot lift
 * themselves (an agent endorsed at 0.3 whose friend endorses it back scored 0.92, tier trusted).
 * Expected visits from the pre-trusted set, times the chance that a walk from the agent itself
 * never comes back to it: only agents on a cycle return, and only within their strongly
 * connected part. Parts no walk from the pre-trusted set reaches score 0 without a walk; the
 * others are walked most trusted first (by their best-reached agent, then agent id), until the
 * budget is spent. A walk the budget cuts short takes a bound instead (what is still walking
 * may all come back): such an agent gets less trust than it might, never more, and only parts
 * less trusted than the ones walked in full can be cut short.
 */
function hitting(ids: string[], out: Map<string, Array<{target: string; weight: number}>>, pre: ReadonlySet<string>, budget: number, stats?: TrustStats): Map<string, number> {
  const ix = new Map(ids.map((a, i) => [a, i]))
  // Steps between agents that are not pre-trusted, with their probabilities; from the pre-trusted ones, where walks start.
  const steps: Array<Array<{to: number; p: number}>> = ids.map((a) => {
    const edges = out.get(a) ?? []
    const sum = edges.reduce((t, e) => t + e.weight, 0)
    const scale = sum > 1 ? 1 / sum : 1
    return edges.filter((e) => !pre.has(e.target)).map((e) => ({to: ix.get(e.target)!, p: (1 - RESTART) * e.weight * scale}))
  })
  // Expected visits of walks from the pre-trusted set (each step moves at most 0.85 of the mass),
  // over the agents the walks stand on only: agents nobody trusted reaches cost nothing.
  const fromPre = new Float64Array(ids.length)
  let v = new Float64Array(ids.length)
  let nv = new Float64Array(ids.length)
  let active = [...pre].map((p) => ix.get(p)!).sort((x, y) => x - y)
  for (const i of active) v[i] = 1
  for (let it = 0; it < 1000 && active.length; it++) {
    const reached: number[] = []
    for (const i of active) {
      const vi = v[i]
      v[i] = 0
      for (const e of steps[i]) {
        if (nv[e.to] === 0) reached.push(e.to)
        nv[e.to] += vi * e.p
      }
    }
    let mass = 0
    for (const i of reached) {
      fromPre[i] += nv[i]
      mass += nv[i]
    }
    ;[v, nv] = [nv, v]
    active = reached
    if (mass < 1e-15) break
  }
  const h = new Map<string, number>()
  const rings: Array<{part: number[]; best: number}> = []
  for (const part of stronglyConnected(ids.length, (i) => (pre.has(ids[i]) ? [] : steps[i].map((e) => e.to)))) {
    if (part.length === 1) {
      if (!pre.has(ids[part[0]])) h.set(ids[part[0]], fromPre[part[0]])
      continue
    }
    let best = 0
    for (const g of part) if (fromPre[g] > best) best = fromPre[g]
    // No walk from the pre-trusted set reaches it: nothing to divide, whatever its walks.
    if (!(best > 0)) for (const g of part) h.set(ids[g], 0)
    else rings.push({part: part.sort((x, y) => x - y), best})
  }
  // Most trusted first, so that rings less trusted than a part cannot spend its budget.
  rings.sort((x, y) => y.best - x.best || x.part[0] - y.part[0])
  let spent = 0
  for (const {part} of rings) {
    // The part's own endorsements, indexed locally (compressed rows).
    const local = new Map(part.map((g, k) => [g, k]))
    const start = new Int32Array(part.length + 1)
    const to: number[] = []
    const prob: number[] = []
    const inside = new Float64Array(part.length)
    part.forEach((g, k) => {
      for (const e of steps[g]) {
        const t = local.get(e.to)
        if (t === undefined) continue
        to.push(t)
        prob.push(e.p)
        inside[k] += e.p
      }
      start[k + 1] = to.length
    })
    let w = new Float64Array(part.length)
    let nw = new Float64Array(part.length)
    for (let k = 0; k < part.length; k++) {
      // The chance that a walk from the agent comes back to it: walked until what is still
      // walking is negligible, or the budget is spent, and then all of that may come back.
      let back = 0
      let walking = [k]
      w[k] = 1
      let mass = 1
      for (let it = 0; it < 1000 && mass >= 1e-15; it++) {
        let cost = walking.length
        for (const i of walking) cost += start[i + 1] - start[i]
        if (spent + cost > budget) break
        spent += cost
        const reached: number[] = []
        for (const i of walking) {
          const wi = w[i]
          w[i] = 0
          for (let x = start[i]; x < start[i + 1]; x++) {
            const j = to[x]
            if (j === k) back += wi * prob[x]
            else {
              if (nw[j] === 0) reached.push(j)
              nw[j] += wi * prob[x]
            }
          }
        }
        mass = 0
        for (const j of reached) mass += nw[j]
        ;[w, nw] = [nw, w]
        walking = reached
      }
      if (mass >= 1e-15) back = Math.min(inside[k], back + mass)
      for (const i of walking) w[i] = 0
      h.set(ids[part[k]], fromPre[part[k]] * (1 - back))
    }
  }
  if (stats) stats.returnSteps = spent
  return h
}

/** Tarjan's strongly connected components, iteratively (no recursion limit on long chains). */
function stronglyConnected(n: number, next: (i: number) => number[]): number[][] {
  const index = new Int32Array(n).fill(-1)
  const low = new Int32Array(n)
  const onStack = new Uint8Array(n)
  const stack: number[] = []
  const parts: number[][] = []
  let counter = 0
  for (let root = 0; root < n; root++) {
    if (index[root] >= 0) continue
    const frames: Array<{v: number; edges: number[]; k: number}> = [{v: root, edges: next(root), k: 0}]
    index[root] = low[root] = counter++
    stack.push(root)
    onStack[root] = 1
    while (frames.length) {
      const f = frames[frames.length - 1]
      if (f.k < f.edges.length) {
        const w = f.edges[f.k++]
        if (index[w] < 0) {
          index[w] = low[w] = counter++
          stack.push(w)
          onStack[w] = 1
          frames.push({v: w, edges: next(w), k: 0})
        } else if (onStack[w]) low[f.v] = Math.min(low[f.v], index[w])
        continue
      }
      frames.pop()
      if (frames.length) low[frames[frames.length - 1].v] = Math.min(low[frames[frames.length - 1].v], low[f.v])
      if (low[f.v] === index[f.v]) {
        const part: number[] = []
        let w: number
        do {
          w = stack.pop()!
          onStack[w] = 0
          part.push(w)
        } while (w !== f.v)
        parts.push(part)
      }
    }
  }
  return parts
}
