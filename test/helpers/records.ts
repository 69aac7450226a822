/** Test builders: signed records from partial fields, so tests read as data. */
import {seal, type Sealed} from '../../src/core/seal.js'
import {keyPairFromSeed, type KeyPair} from '../../src/core/sign.js'
import {formatHlc} from '../../src/core/hlc.js'
import type {Json, RecordBody} from '../../src/core/record.js'

/** Deterministic keys: agent n is the key with seed [n, n, ...]. */
export function testKey(n = 1): KeyPair {
  if (Number.isInteger(n) && n >= 0 && n < 256) return keyPairFromSeed(new Uint8Array(32).fill(n))
  // Past a byte, fill(n) wraps (testKey(1000 + i) gave 256 keys, testKey(1001) being testKey(233)):
  // a seed of n's own digits, after a prefix no filled seed has.
  const seed = new Uint8Array(32)
  seed.set([0xfe, 0xed])
  new DataView(seed.buffer).setFloat64(8, n)
  return keyPairFromSeed(seed)
}

let counter = 0
/** A fresh hlc stamp; `wall` pins the time when a test needs it. */
export function stamp(wall = 1_700_000_000_000, c?: number): string {
  return formatHlc({wall, counter: c ?? counter++ % 0xffff})
}

export function assertion(
  fields: Partial<{subject: string; predicate: string; value: Json; confidence: number; source: string; epoch: string; evidence: string[]; supersedes: string[]; valid: {from?: string; to?: string}; hlc: string}> = {},
  key: KeyPair = testKey(),
): Sealed {
  const body = {
    v: 1,
    kind: 'assertion',
    agent: key.publicHex,
    hlc: fields.hlc ?? stamp(),
    subject: 'drug:aspirin',
    predicate: 'bleeding_rate',
    value: 0.002,
    confidence: 0.9,
    ...fields,
  } as RecordBody
  return seal(body, key)
}

export function record(fields: Record<string, unknown>, key: KeyPair = testKey()): Sealed {
  return seal({v: 1, agent: key.publicHex, hlc: stamp(), ...fields} as unknown as RecordBody, key)
}

/** n assertions spread over `subjects` subjects, deterministic. */
export function many(n: number, subjects = Math.max(1, Math.floor(n / 10)), key: KeyPair = testKey()): Sealed[] {
  const out: Sealed[] = []
  for (let i = 0; i < n; i++) out.push(assertion({subject: `s:${i % subjects}`, predicate: 'p', value: i, hlc: stamp(1_700_000_000_000 + i, 0)}, key))
  return out
}
