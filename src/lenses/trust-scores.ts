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
export function trustScores(endorsements: readonly Trust[], pretrusted: readonly string[]): Map<string, TrustScore> {
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
  const h = pre.length === 0 ? new Map<string, number>() : hitting(ids, out, preSet)
  for (const a of ids) {
    const isPre = preSet.has(a)
    const score = isPre ? 1 : Math.min(1, h.get(a) ?? 0)
    result.set(a, {agent: a, score, tier: tierOf(score, isPre), pretrusted: isPre, endorsedBy: (endorsedBy.get(a) ?? []).sort((x, y) => y.weight - x.weight || (x.agent < y.agent ? -1 : 1))})
  }
  return result
}

/** Steps of return walks allowed for one strongly connected part (agents x endorsements among them x rounds); past it, a bound. */
export const RING_BUDGET = 5_000_000

/**
 * Each agent's score: the probability that the walk, started at a pre-trusted agent (summed over
 * them), reaches it before restarting. A step follows an endorsement with probability
 * (1 - RESTART) times its weight (scaled when an agent's weights sum past 1); reaching a
 * pre-trusted agent starts a walk of its own. Without cycles this is EigenTrust's stationary
 * trust relative to the pre-trusted agents; with them it counts a walk once, where the
 * stationary trust counts every visit, so agents endorsing each other in a ring cannot lift
 * themselves (an agent endorsed at 0.3 whose friend endorses it back scored 0.92, tier trusted).
 * Expected visits from the pre-trusted set, divided by the expected visits of a walk from the
 * agent itself: only agents on a cycle return, and only within their strongly connected part.
 * A part so large that RING_BUDGET cuts its walks short takes a lower bound instead (what is
 * still walking may return at most 1 / (1 - the share it keeps inside) times): such a ring gets
 * a little less trust than it might, never more.
 */
function hitting(ids: string[], out: Map<string, Array<{target: string; weight: number}>>, pre: ReadonlySet<string>): Map<string, number> {
  const ix = new Map(ids.map((a, i) => [a, i]))
  // Steps between agents that are not pre-trusted, with their probabilities; from the pre-trusted ones, where walks start.
  const steps: Array<Array<{to: number; p: number}>> = ids.map((a) => {
    const edges = out.get(a) ?? []
    const sum = edges.reduce((t, e) => t + e.weight, 0)
    const scale = sum > 1 ? 1 / sum : 1
    return edges.filter((e) => !pre.has(e.target)).map((e) => ({to: ix.get(e.target)!, p: (1 - RESTART) * e.weight * scale}))
  })
  // Expected visits of walks from the pre-trusted set (each step moves at most 0.85 of the mass).
  const fromPre = new Float64Array(ids.length)
  let v = new Float64Array(ids.length)
  for (const p of pre) v[ix.get(p)!] = 1
  for (let it = 0; it < 1000; it++) {
    const next = new Float64Array(ids.length)
    let mass = 0
    for (let i = 0; i < ids.length; i++) {
      if (v[i] === 0) continue
      for (const e of steps[i]) next[e.to] += v[i] * e.p
    }
    for (let i = 0; i < ids.length; i++) {
      fromPre[i] += next[i]
      mass += next[i]
    }
    v = next
    if (mass < 1e-15) break
  }
  const h = new Map<string, number>()
  for (const part of stronglyConnected(ids.length, (i) => (pre.has(ids[i]) ? [] : steps[i].map((e) => e.to)))) {
    if (part.length === 1) {
      if (!pre.has(ids[part[0]])) h.set(ids[part[0]], fromPre[part[0]])
      continue
    }
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
    const rounds = Math.min(1000, Math.floor(RING_BUDGET / (part.length * Math.max(1, to.length))))
    for (let k = 0; k < part.length; k++) {
      // Expected visits of a walk from the agent itself: 1 + its returns.
      let self = 1
      let w = new Float64Array(part.length)
      w[k] = 1
      let mass = 1
      for (let it = 0; it < rounds && mass >= 1e-15; it++) {
        const next = new Float64Array(part.length)
        for (let i = 0; i < part.length; i++) {
          if (w[i] === 0) continue
          for (let x = start[i]; x < start[i + 1]; x++) next[to[x]] += w[i] * prob[x]
        }
        mass = 0
        for (let i = 0; i < part.length; i++) mass += next[i]
        self += next[k]
        w = next
      }
      if (mass >= 1e-15) self += mass / (1 - inside[k])
      h.set(ids[part[k]], fromPre[part[k]] / self)
    }
  }
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
