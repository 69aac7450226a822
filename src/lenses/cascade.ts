/**
 * The retraction cascade with truth-maintenance semantics: an assertion is retracted when a
 * retraction names it (or its source), or when it was derived (`evidence`) and every piece of
 * its evidence is retracted. While any of its evidence stands, it stays justified.
 */
import type {RetractionWhy} from './types.js'
import {field} from '../core/text.js'

export interface Justified {
  id: string
  evidence?: readonly string[]
}

/**
 * Propagate direct retractions down evidence links. `nodes` must hold every assertion whose
 * status matters, with its full evidence list; evidence ids not in `nodes` and not directly
 * retracted count as standing. Linear in nodes plus edges; a cycle cannot loop it.
 */
export function cascade(nodes: Iterable<Justified>, direct: ReadonlyMap<string, RetractionWhy>): Map<string, RetractionWhy> {
  // Nothing retracted directly: nothing falls (and indexing the graph is most of the cost).
  if (direct.size === 0) return new Map()
  // Ids are interned to integers and dependents kept as flat arrays (CSR): on 100k+ derived
  // assertions, maps keyed by 64-char ids were most of the cost.
  const index = new Map<string, number>()
  const ids: string[] = []
  const intern = (id: string) => {
    let i = index.get(id)
    if (i === undefined) {
      index.set(id, (i = ids.length))
      ids.push(id)
    }
    return i
  }
  const derived: Array<{node: number; evidence: string[]; ev: number[]}> = []
  const seen = new Set<number>()
  for (const n of nodes) {
    if (!n.evidence?.length) continue
    const node = intern(n.id)
    if (seen.has(node)) continue
    seen.add(node)
    const evidence = [...new Set(n.evidence)]
    derived.push({node, evidence, ev: evidence.map(intern)})
  }
  for (const id of direct.keys()) intern(id)
  const count = ids.length
  const start = new Int32Array(count + 1)
  for (const d of derived) for (const e of d.ev) start[e + 1]++
  for (let i = 0; i < count; i++) start[i + 1] += start[i]
  const fill = start.slice(0, count)
  const dependents = new Int32Array(start[count])
  const standing = new Int32Array(count)
  const of = new Int32Array(count).fill(-1)
  derived.forEach((d, k) => {
    standing[d.node] = d.ev.length
    of[d.node] = k
    for (const e of d.ev) dependents[fill[e]++] = d.node
  })
  const out = new Map(direct)
  const queue = new Int32Array(count)
  let tail = 0
  const fallen = new Uint8Array(count)
  for (const id of direct.keys()) {
    const i = index.get(id)!
    if (!fallen[i]) {
      fallen[i] = 1
      queue[tail++] = i
    }
  }
  for (let head = 0; head < tail; head++) {
    const x = queue[head]
    for (let k = start[x]; k < start[x + 1]; k++) {
      const d = dependents[k]
      if (--standing[d] === 0 && !fallen[d]) {
        fallen[d] = 1
        queue[tail++] = d
        out.set(ids[d], {by: 'evidence', evidence: derived[of[d]].evidence})
      }
    }
  }
  return out
}

/** A cycle in evidence links among `nodes`, as the ids along it, or undefined. Content addressing makes one impossible for honest records. */
export function findCycle(nodes: Iterable<Justified>): string[] | undefined {
  const edges = new Map<string, readonly string[]>()
  for (const n of nodes) edges.set(n.id, n.evidence ?? [])
  const state = new Map<string, 1 | 2>()
  for (const start of edges.keys()) {
    if (state.has(start)) continue
    // Iterative DFS: deep derivation chains must not overflow the stack.
    const stack: Array<{id: string; i: number}> = [{id: start, i: 0}]
    state.set(start, 1)
    while (stack.length) {
      const top = stack[stack.length - 1]
      const next = (edges.get(top.id) ?? [])[top.i++]
      if (next === undefined) {
        state.set(top.id, 2)
        stack.pop()
        continue
      }
      if (!edges.has(next)) continue
      const s = state.get(next)
      if (s === 1) return [...stack.slice(stack.findIndex((f) => f.id === next)).map((f) => f.id), next]
      if (s === undefined) {
        state.set(next, 1)
        stack.push({id: next, i: 0})
      }
    }
  }
  return undefined
}

/** The chain from a retracted id up to the retractions that caused it, one line per step. */
export function explainRetraction(id: string, retracted: ReadonlyMap<string, RetractionWhy>, depth = 0, seen = new Set<string>()): string[] {
  const why = retracted.get(id)
  const pad = '  '.repeat(depth)
  if (!why) return [`${pad}${id.slice(0, 12)} stands`]
  if (seen.has(id)) return [`${pad}${id.slice(0, 12)} (see above)`]
  seen.add(id)
  switch (why.by) {
    case 'target':
      return [`${pad}${id.slice(0, 12)} is retracted by ${why.retraction.slice(0, 12)} (agent ${why.agent.slice(0, 12)})${why.reason ? ': ' + field(why.reason) : ''}`]
    case 'source':
      return [`${pad}${id.slice(0, 12)} cites source "${field(why.source)}", retracted by ${why.retraction.slice(0, 12)} (agent ${why.agent.slice(0, 12)})${why.reason ? ': ' + field(why.reason) : ''}`]
    case 'evidence':
      return [
        `${pad}${id.slice(0, 12)} is retracted because all ${why.evidence.length} of its evidence ${why.evidence.length === 1 ? 'is' : 'are'} retracted:`,
        ...why.evidence.flatMap((e) => explainRetraction(e, retracted, depth + 1, seen)),
      ]
  }
}
