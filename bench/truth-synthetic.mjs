/**
 * bench:truth-synthetic — the source-reliability lens against majority voting on generated data
 * whose truth and source reliabilities are known, over several seeds and scenarios. A guard
 * against fitting the lens to the one real dataset (bench:truth): a change should not win on
 * Book and lose here.
 *
 * Each object has a true set of 1-5 elements (an author list, say); each source speaks about a
 * random share of the objects. Scenarios:
 *   errors      every source lists whole sets, each with its own error rate (0.05-0.65, up to three errors a claim): an
 *               element swapped for a wrong one (half the time a confusion other sources make
 *               too, half a typo of its own), one dropped, or a spurious one added;
 *   truncation  as errors, but a third of the sources often list only the first k elements
 *               (display limits), some of them always;
 *   copying     as errors, plus groups of sources copying one bad source's claims, errors and all;
 *   scalar      one true element per object (a single-valued predicate), errors only.
 * Accuracy counts an object right when the winner equals its true set exactly.
 *
 * Usage: node bench/truth-synthetic.mjs [seeds, default 5]
 */
import {performance} from 'node:perf_hooks'
import {rng} from './rng.mjs'

const dist = new URL('../dist/', import.meta.url)
const {discoverTruth} = await import(new URL('lenses/truth-discovery.js', dist))
const {reliability} = await import(new URL('lenses/reliability.js', dist))
const {toTable} = await import(new URL('ops/reliability.js', dist))

const SCENARIOS = ['errors', 'truncation', 'copying', 'scalar']
const OBJECTS = 1500
const SOURCES = 120

function generate(scenario, seed) {
  const r = rng(seed * 7919 + SCENARIOS.indexOf(scenario))
  const pick = (n) => Math.floor(r() * n)
  const sources = []
  for (let s = 0; s < SOURCES; s++) {
    const error = 0.05 + 0.6 * r() ** 2
    const truncate = scenario === 'truncation' && s % 3 === 0 ? [0.5, 0.9, 1][s % 9 === 0 ? 2 : pick(2)] : 0
    // Heavy-tailed coverage: a few sources speak about most objects, most about few.
    const coverage = 0.005 + 0.25 * r() ** 3
    sources.push({name: `s${String(s).padStart(3, '0')}`, error, truncate, coverage, copies: undefined})
  }
  if (scenario === 'copying') {
    // Four groups of five copiers, each following one of the worse sources.
    const bad = sources.map((s, i) => [s.error, i]).sort((a, b) => b[0] - a[0]).slice(0, 4)
    for (let g = 0; g < 4; g++) for (let k = 0; k < 5; k++) sources[(bad[g][1] + 1 + g * 5 + k * 7) % SOURCES].copies = bad[g][1]
  }
  const truth = []
  const claims = []
  for (let o = 0; o < OBJECTS; o++) {
    const u = r()
    const size = scenario === 'scalar' ? 1 : u < 0.4 ? 1 : u < 0.7 ? 2 : u < 0.85 ? 3 : u < 0.95 ? 4 : 5
    // Random names, so no order (majority's tie-break, sorting) tells true elements from false ones.
    const name = () => `o${o}n${String(pick(1e6)).padStart(6, '0')}`
    const t = Array.from({length: size}, name)
    const confusions = [name(), name()]
    truth.push(t)
    const said = new Map()
    const speak = (s) => {
      const src = sources[s]
      let list = [...t]
      if (src.truncate && size > 1 && r() < src.truncate) list = list.slice(0, 1 + pick(Math.min(2, size - 1)))
      for (let e = 0; e < 3 && r() < src.error; e++) {
        const kind = scenario === 'scalar' ? 0 : pick(3)
        const wrong = r() < 0.5 ? confusions[pick(2)] : name()
        if (kind === 0) list[pick(list.length)] = wrong
        else if (kind === 1 && list.length > 1) list.splice(pick(list.length), 1)
        else list.push(wrong)
      }
      return [...new Set(list)].sort()
    }
    const order = [...sources.keys()]
    for (const s of order) if (sources[s].copies === undefined && r() < sources[s].coverage) said.set(s, speak(s))
    while (said.size < 3) {
      const s = pick(SOURCES)
      if (!said.has(s) && sources[s].copies === undefined) said.set(s, speak(s))
    }
    for (const s of order) {
      const parent = sources[s].copies
      if (parent !== undefined && said.has(parent) && r() < 0.9) said.set(s, said.get(parent))
    }
    for (const [s, value] of said) claims.push({object: `o${o}\u0000authors`, o, witness: `source:${sources[s].name}`, value})
    truth[o] = [...t].sort()
  }
  return {truth, claims}
}

function evaluate({truth, claims}) {
  const byObject = truth.map(() => [])
  for (const c of claims) byObject[c.o].push(c)
  const t = performance.now()
  const learned = discoverTruth(claims)
  const trainMs = performance.now() - t
  const table = toTable(learned)
  const ctx = {now: 0, votes: [], retracted: new Map(), superseded: new Map(), epochs: [], trust: new Map(), reliability: table, params: {}}
  let majority = 0
  let lens = 0
  for (let o = 0; o < truth.length; o++) {
    const gold = JSON.stringify(truth[o])
    const counts = new Map()
    for (const c of byObject[o]) counts.set(JSON.stringify(c.value), (counts.get(JSON.stringify(c.value)) ?? 0) + 1)
    const best = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]
    if (best[0] === gold) majority++
    const cands = byObject[o].map((c, i) => ({v: 1, kind: 'assertion', id: `${String(o).padStart(6, '0')}${String(i).padStart(4, '0')}`, agent: 'a', hlc: String(i).padStart(12, '0'), subject: `o${o}`, predicate: 'authors', value: c.value, confidence: 1, source: c.witness.slice(7)}))
    if (reliability(cands, ctx, {}).winner?.key === gold) lens++
  }
  return {majority: majority / truth.length, lens: lens / truth.length, trainMs, iterations: learned.iterations}
}

const seeds = Number(process.argv[2] ?? process.env.SEEDS ?? 5)
console.log(`synthetic truth discovery: ${OBJECTS} objects, ${SOURCES} sources, seeds 1-${seeds}; accuracy = exact set right`)
let worse = 0
for (const scenario of SCENARIOS) {
  const rows = []
  for (let seed = 1; seed <= seeds; seed++) rows.push(evaluate(generate(scenario, seed)))
  const mean = (k) => rows.reduce((t, x) => t + x[k], 0) / rows.length
  const lose = rows.filter((x) => x.lens < x.majority).length
  worse += lose
  console.log(`${scenario.padEnd(11)} majority ${mean('majority').toFixed(3)}  reliability ${mean('lens').toFixed(3)}  (per seed: ${rows.map((x) => `${x.majority.toFixed(3)}/${x.lens.toFixed(3)}`).join(' ')})  lens worse on ${lose}/${rows.length} seeds; training ${Math.round(mean('trainMs'))} ms, ${Math.round(mean('iterations'))} iterations`)
}
console.log(`reliability beats or equals majority on every seed of every scenario: ${worse === 0 ? 'yes' : `NO (${worse} losses)`}`)
