/** Tampered variants of a signed record: every field changed, removed or nulled, and single bit flips of id and sig. */
import type {Sealed} from '../../src/core/seal.js'
import {assertion, record, testKey} from './records.js'

export interface Variant {
  name: string
  record: Record<string, unknown>
}

function perturb(v: unknown): unknown {
  if (typeof v === 'string') {
    if (/^[0-9a-f]+$/.test(v) && v.length >= 2) return (v[0] === '0' ? '1' : '0') + v.slice(1)
    if (/^[0-9a-f]{16}-[0-9a-f]{4}$/.test(v)) return v.slice(0, 20) + (v[20] === '0' ? '1' : '0')
    return v + 'x'
  }
  if (typeof v === 'number') return v === 1 ? 0 : v === 0 ? 1 : v === -1 ? 1 : v / 2
  if (typeof v === 'boolean') return !v
  if (Array.isArray(v)) return v.length ? v.slice(1) : ['x']
  if (v && typeof v === 'object') return {...(v as object), extra: 1}
  return 'changed'
}

function flipBit(hex: string, bit: number): string {
  const bytes = Buffer.from(hex, 'hex')
  bytes[bit >> 3] ^= 1 << (bit & 7)
  return bytes.toString('hex')
}

export function tamperVariants(s: Sealed): Variant[] {
  const base = JSON.parse(JSON.stringify(s.record)) as Record<string, unknown>
  const out: Variant[] = []
  for (const field of Object.keys(base)) {
    out.push({name: `${field} changed`, record: {...base, [field]: perturb(base[field])}})
    const {[field]: _, ...rest} = base
    out.push({name: `${field} removed`, record: rest})
    out.push({name: `${field} null`, record: {...base, [field]: null}})
  }
  out.push({name: 'extra field', record: {...base, note2: 'x'}})
  for (const bit of [0, 7, 100, 255]) out.push({name: `id bit ${bit} flipped`, record: {...base, id: flipBit(base.id as string, bit)}})
  for (const bit of [0, 200, 256, 511]) out.push({name: `sig bit ${bit} flipped`, record: {...base, sig: flipBit(base.sig as string, bit)}})
  return out
}

/** One signed record of every kind, with every optional field set, fresh each call (new hlc stamps). */
export function tamperSamples(): Sealed[] {
  const a = assertion({source: 'doi:1', epoch: 'e1', evidence: ['ab'.repeat(32)], supersedes: ['cd'.repeat(32)], valid: {from: '2024-01-01', to: '2025-01-01'}})
  return [
    a,
    record({kind: 'vote', target: a.record.id, weight: 1}),
    record({kind: 'retract', target: a.record.id, reason: 'wrong'}),
    record({kind: 'retract', source: 'doi:1'}),
    record({kind: 'epoch', name: 'e1', starts: '2024-01-01', note: 'n'}),
    record({kind: 'trust', target: testKey(2).publicHex, weight: 0.5}),
  ]
}
