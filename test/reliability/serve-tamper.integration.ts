/** Tampered records POSTed to a real daemon over HTTP: each rejected with a reason, good ones kept, the store otherwise unchanged. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {initHash} from '../../src/core/hash.js'
import {recordLine, type Sealed} from '../../src/core/seal.js'
import {assertion} from '../helpers/records.js'
import {report} from '../helpers/report.js'
import {tamperSamples, tamperVariants, type Variant} from '../helpers/tamper.js'
import {startHarness, type Harness} from '../serve/harness.js'

const NDJSON = {'content-type': 'application/x-ndjson'}
const JSONCT = {'content-type': 'application/json'}

let h: Harness
beforeAll(async () => {
  await initHash()
  h = await startHarness()
})
afterAll(async () => {
  await h.stop()
})

async function storedIds(): Promise<Set<string>> {
  const ids = new Set<string>()
  for await (const batch of h.rt.store.scan()) for (const s of batch) ids.add(s.record.id)
  return ids
}

const line = (s: Sealed) => recordLine(s.canonical, s.record.id, s.record.sig)
const body = (items: Array<Record<string, unknown> | Sealed>, format: 'ndjson' | 'json') => {
  const objs = items.map((x) => ('canonical' in x ? JSON.parse(line(x as Sealed)) : x))
  // The array holds one element per line, after its opening bracket: element k starts on line k + 1.
  return format === 'ndjson' ? objs.map((o) => JSON.stringify(o)).join('\n') + '\n' : '[\n' + objs.map((o) => JSON.stringify(o)).join(',\n') + '\n]'
}

/** Every variant of every kind, with the kind it came from. */
function allVariants(): Array<{kind: string; v: Variant}> {
  return tamperSamples().flatMap((s) => tamperVariants(s).map((v) => ({kind: s.record.kind, v})))
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({length: n}, async () => {
    while (next < items.length) await fn(items[next++])
  }))
}

interface Rejection {
  line: number
  reason: string
}

describe('tampering over HTTP: POST /v1/records', () => {
  it('every variant alone, as NDJSON and as a JSON array: 422, one rejection with a reason, nothing stored', async () => {
    const before = await storedIds()
    let faults = 0
    const cases = (['ndjson', 'json'] as const).flatMap((format) => allVariants().map((c) => ({format, ...c})))
    // A few clients at once, as a team would post.
    await pool(cases, 6, async ({format, kind, v}) => {
        faults++
        const r = await h.req('/v1/records', {method: 'POST', headers: format === 'ndjson' ? NDJSON : JSONCT, body: body([v.record], format), token: h.write})
        const what = `${format} ${kind}: ${v.name}`
        expect(r.status, what).toBe(422)
        expect(r.body, what).toMatchObject({added: 0, present: 0, rejected: 1, error: {code: 'rejected'}})
        expect(r.body.errors, what).toHaveLength(1)
        expect(r.body.errors[0].line, what).toBe(format === 'ndjson' ? 1 : 2)
        expect(r.body.errors[0].reason.length, what).toBeGreaterThan(0)
        expect(r.text, what).not.toMatch(/\n\s+at |node_modules/)
    })
    const after = await storedIds()
    expect([...after].filter((id) => !before.has(id))).toEqual([])
    report({suite: 'tamper (HTTP, alone)', faults, inputs: faults, invalidStored: after.size - before.size, lost: 0, crashes: 0})
  })

  it('every variant mixed with good records, both formats: each variant rejected at its line, every good record added, nothing else stored', async () => {
    let faults = 0
    let invalid = 0
    for (const format of ['ndjson', 'json'] as const) {
      const before = await storedIds()
      const variants = allVariants()
      // Good records are fresh (new hlc stamps), interleaved: good, bad, good, bad, ..., good.
      const good = variants.map((_, i) => assertion({subject: `good:${format}:${i}`})).concat(tamperSamples())
      const items: Array<Record<string, unknown> | Sealed> = []
      const badLines: number[] = []
      variants.forEach(({v}, i) => {
        items.push(good[i])
        items.push(v.record)
        badLines.push(items.length)
      })
      for (const g of good.slice(variants.length)) items.push(g)
      faults += variants.length
      const r = await h.req('/v1/records', {method: 'POST', headers: format === 'ndjson' ? NDJSON : JSONCT, body: body(items, format), token: h.write})
      expect(r.status, format).toBe(200)
      const goodIds = new Set(good.map((g) => g.record.id))
      expect(r.body.rejected, format).toBe(variants.length)
      expect(r.body.added, format).toBe(goodIds.size)
      expect(new Set(r.body.ids.added)).toEqual(goodIds)
      const errors = r.body.errors as Rejection[]
      expect(errors.map((e) => e.line)).toEqual(format === 'ndjson' ? badLines : badLines.map((n) => n + 1))
      for (const e of errors) expect(e.reason.length, `line ${e.line}`).toBeGreaterThan(0)
      const after = await storedIds()
      const added = [...after].filter((id) => !before.has(id))
      invalid += added.filter((id) => !goodIds.has(id)).length
      expect(new Set(added)).toEqual(goodIds)
    }
    report({suite: 'tamper (HTTP, mixed)', faults, inputs: faults * 2, invalidStored: invalid, lost: 0, crashes: 0})
  })

  it('the control: the untampered samples are accepted over HTTP', async () => {
    const samples = tamperSamples()
    const r = await h.req('/v1/records', {method: 'POST', headers: NDJSON, body: body(samples, 'ndjson'), token: h.write})
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({added: samples.length, rejected: 0})
  })
})
