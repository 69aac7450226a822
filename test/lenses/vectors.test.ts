/** Table-driven lens tests: every case in fixtures/lenses/*.json. */
import {describe, expect, it} from 'vitest'
import {canonicalize} from '../../src/core/canonical.js'
import {loadVectors, runVector} from './vectors.js'

const byFile = new Map<string, ReturnType<typeof loadVectors>>()
for (const v of loadVectors()) byFile.set(v.file, [...(byFile.get(v.file) ?? []), v])

for (const [file, cases] of byFile) {
  describe(file, () => {
    for (const {vector: v} of cases) {
      it(v.name, async () => {
        const e = v.expected
        if (e.error) {
          await expect(runVector(v)).rejects.toThrow(e.error)
          return
        }
        const {res, ids, agent} = await runVector(v)
        const r = res.resolutions[0]
        expect(r, 'a resolution').toBeDefined()
        if (e.status) expect(r.status).toBe(e.status)
        if ('winner' in e) expect(r.winner?.key ?? null).toBe(e.winner === null ? null : canonicalize(e.winner))
        if (e.ranking) expect(r.candidates.map((c) => c.key)).toEqual(e.ranking.map((x) => canonicalize(x)))
        if (e.decidedBy) expect(r.decidedBy).toBe(e.decidedBy)
        if (e.conflict !== undefined) expect(r.conflict).toBeCloseTo(e.conflict, 6)
        if (e.conflictAtLeast !== undefined) expect(r.conflict).toBeGreaterThanOrEqual(e.conflictAtLeast)
        if (e.conflictAtMost !== undefined) expect(r.conflict).toBeLessThanOrEqual(e.conflictAtMost)
        const state = (ref: string) => res.candidates.find((c) => c.id === ids.get(ref))?.state
        for (const ref of e.retracted ?? []) expect(state(ref), `${ref} retracted`).toBe('retracted')
        for (const ref of e.live ?? []) expect(state(ref), `${ref} live`).toBe('live')
        for (const ref of e.superseded ?? []) expect(state(ref), `${ref} superseded`).toBe('superseded')
        for (const ref of e.notValid ?? []) expect(state(ref), `${ref} not valid`).toBe('not-valid')
        for (const [ref, by] of e.supersededBy ?? []) expect(res.candidates.find((c) => c.id === ids.get(ref))?.why, `${ref} superseded by ${by}`).toEqual([`superseded by ${ids.get(by)}`])
        const text = r.explanation.join('\n')
        const refs = (s: string) =>
          s.replace(/@agent:(\w+)/g, (_, name: string) => agent(name).slice(0, 12)).replace(/@(\w+)/g, (m, ref: string) => ids.get(ref)?.slice(0, 12) ?? m)
        for (const s of e.explainIncludes ?? []) expect(text).toContain(refs(s))
        for (const s of e.explainExcludes ?? []) expect(text).not.toContain(refs(s))
        if (e.probabilities) {
          expect(r.candidates.map((c) => c.key)).toEqual(e.probabilities.map(([v]) => canonicalize(v)))
          e.probabilities.forEach(([, p], i) => expect(r.candidates[i].probability, `probability of ${r.candidates[i].key}`).toBeCloseTo(p, 6))
        }
        expect(r.candidates.reduce((t, c) => t + c.probability, 0), 'probabilities sum to 1').toBeCloseTo(r.candidates.length ? 1 : 0, 9)
        for (const c of r.candidates) expect(Number.isFinite(c.score) && Number.isFinite(c.probability), `${c.key}: finite score and probability`).toBe(true)
        expect(r.conflict).toBeGreaterThanOrEqual(0)
        expect(r.conflict).toBeLessThanOrEqual(1)
      })
    }
  })
}
