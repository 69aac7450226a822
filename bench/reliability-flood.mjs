/**
 * bench:reliability-flood — what a flood on one subject costs the source-reliability lens: the
 * training (truth discovery) and the lens, CPU time, medians of several runs, for 1,000, 5,000
 * and 20,000 witnesses of one value against a few others, and for two camps splitting a subject
 * (every claim wrong to the model, so copy detection's window decides the cost), and for a
 * subject where every witness names a value of its own (1,000, 4,000 and 20,000 distinct values:
 * each part in a process of its own, so its peak resident memory can be read too).
 *
 * Usage: node bench/reliability-flood.mjs [runs, default 5] [dist directory, default ../dist] [one | distinct]
 * Give a build of an older commit as the second argument to compare, back to back; `one` runs
 * the one-value shape only (before the window, two camps of 2,000 took 15 s to train and of
 * 20,000 would not finish), `distinct` the distinct values only (before they were bounded,
 * 20,000 took over two minutes to train).
 */
import {execFileSync} from 'node:child_process'
import {fileURLToPath, pathToFileURL} from 'node:url'

const runs = Number(process.argv[2] ?? 5)
const dist = process.argv[3] ? pathToFileURL(process.argv[3].replace(/\/?$/, '/')) : new URL('../dist/', import.meta.url)
const {discoverTruth} = await import(new URL('lenses/truth-discovery.js', dist))
const {reliability} = await import(new URL('lenses/reliability.js', dist))
const {claimsOf, toTable} = await import(new URL('ops/reliability.js', dist))

const hex = (n) => n.toString(16).padStart(64, '0')
/** One agent citing a source per witness, as a flood synced from a peer would arrive. */
function subject(n, split, distinct) {
  const out = []
  const add = (source, value) =>
    out.push({v: 1, kind: 'assertion', agent: hex(1), hlc: `${String(1_700_000_000_000 + out.length).padStart(13, '0')}-0000`, id: hex(0x10000000 + out.length), subject: 's', predicate: 'p', value, confidence: 0.9, source})
  for (let i = 0; i < n; i++) add(`feed:${i}`, distinct ? `v${i}` : split && i % 2 ? 'B' : 'A')
  if (!split && !distinct) for (const [i, v] of ['B', 'B', 'B', 'C', 'C', ['A', 'B'], ['B']].entries()) add(`other:${i}`, v)
  return out
}

const ctx = {now: 0, votes: [], retracted: new Map(), superseded: new Map(), epochs: [], trust: new Map(), params: {}}
function cpu(f) {
  const times = []
  for (let i = 0; i < runs; i++) {
    const s = process.cpuUsage()
    f()
    const u = process.cpuUsage(s)
    times.push((u.user + u.system) / 1000)
  }
  return times.sort((a, b) => a - b)[(runs - 1) >> 1]
}

const mode = process.argv[4]
if (mode === 'part') {
  // One part of the distinct shape, in this process alone: its CPU median and peak memory.
  const n = Number(process.argv[5])
  const part = process.argv[6]
  const cands = subject(n, false, true)
  const table = part === 'trained' ? toTable(discoverTruth(claimsOf(cands))) : undefined
  const ms = cpu(() => (part === 'training' ? discoverTruth(claimsOf(cands)) : reliability(cands, {...ctx, ...(table ? {reliability: table} : {})}, {})))
  console.log(JSON.stringify({ms, peakMB: process.resourceUsage().maxRSS / 1024}))
  process.exit(0)
}

console.log(`CPU ms, median of ${runs}; distinct values: and peak resident MB of a process running that part alone (${new URL('.', dist).pathname})`)
console.log(['shape', 'witnesses', 'training', 'lens (trained)', 'lens (alone)'].join('\t'))
const shapes = [['one value', 1000], ['one value', 5000], ['one value', 20_000], ['two camps', 2000], ['two camps', 20_000], ['distinct', 1000], ['distinct', 4000], ['distinct', 20_000]]
for (const [shape, n] of shapes.filter(([shape]) => !mode || (mode === 'one' ? shape === 'one value' : shape === mode))) {
  if (shape === 'distinct') {
    const parts = ['training', 'trained', 'alone'].map((part) => JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), String(runs), fileURLToPath(dist), 'part', String(n), part], {encoding: 'utf8'})))
    console.log([shape, n, ...parts.map((r) => `${r.ms.toFixed(0)} (${r.peakMB.toFixed(0)} MB)`)].join('\t'))
    continue
  }
  const cands = subject(n, shape === 'two camps', shape === 'distinct')
  const table = toTable(discoverTruth(claimsOf(cands)))
  const training = cpu(() => discoverTruth(claimsOf(cands)))
  const trained = cpu(() => reliability(cands, {...ctx, reliability: table}, {}))
  const alone = cpu(() => reliability(cands, ctx, {}))
  console.log([shape, n, training.toFixed(0), trained.toFixed(0), alone.toFixed(0)].join('\t'))
}
