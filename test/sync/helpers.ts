/** Builders for sync tests: signed records with spread-out stamps, memory peers, a loopback pair. */
import {initHash} from '../../src/core/hash.js'
import {Hlc, formatHlc} from '../../src/core/hlc.js'
import {seal, type Sealed} from '../../src/core/seal.js'
import {keyPairFromSeed, type KeyPair} from '../../src/core/sign.js'
import type {Store} from '../../src/core/store.js'
import {MemoryStore} from '../../src/adapters/memory.js'
import {createSyncHandler} from '../../src/sync/server.js'
import {loopbackTransport} from '../../src/sync/transports/loopback.js'
import {runSync, type SyncMode} from '../../src/sync/client.js'
import {LocalView} from '../../src/sync/view.js'
import {rootFingerprint} from '../../src/sync/reconcile.js'

export const DAY = 86_400_000

/** A deterministic key per seed byte. */
export const keyFor = (n: number): KeyPair => keyPairFromSeed(new Uint8Array(32).fill(n))

/**
 * `n` assertions by one key, stamped over `spanMs` ending `endAgoMs` before now, in stamp order.
 * `tag` keeps sets from different calls disjoint.
 */
export async function makeRecords(n: number, opts: {tag?: string; spanMs?: number; endAgoMs?: number; key?: KeyPair} = {}): Promise<Sealed[]> {
  await initHash()
  const key = opts.key ?? keyFor(7)
  const span = opts.spanMs ?? 30 * DAY
  const end = Date.now() - (opts.endAgoMs ?? 60_000)
  const out: Sealed[] = []
  for (let i = 0; i < n; i++) {
    const wall = Math.floor(end - span + (span * i) / Math.max(1, n))
    const hlc = formatHlc({wall, counter: i % 0xffff})
    out.push(seal({v: 1, kind: 'assertion', agent: key.publicHex, hlc, subject: `s:${opts.tag ?? 'x'}:${i % 97}`, predicate: 'p', value: i, confidence: 0.5, source: `t:${opts.tag ?? 'x'}:${i}`}, key))
  }
  return out
}

export async function memoryWith(records: readonly Sealed[]): Promise<MemoryStore> {
  const s = new MemoryStore()
  for (let i = 0; i < records.length; i += 5000) await s.insert(records.slice(i, i + 5000))
  return s
}

export function receiveDeps(store: Store) {
  return {store, clock: new Hlc(undefined), saveClock: async () => {}, skewMs: 60_000}
}

/** Sync `local` against `remote` in-process (the protocol bytes still cross a copy). */
export async function syncPair(local: Store, remote: Store, mode: SyncMode = 'sync') {
  const handler = createSyncHandler(receiveDeps(remote))
  const t = loopbackTransport('test-remote', handler)
  try {
    return await runSync(receiveDeps(local), t, {mode, threads: 0})
  } finally {
    await t.close()
  }
}

export async function root(store: Store) {
  return rootFingerprint(await LocalView.load(store))
}

export async function allIds(store: Store): Promise<string[]> {
  const out: string[] = []
  for await (const b of store.scan({batch: 10_000})) for (const s of b) out.push(s.record.id)
  return out.sort()
}
