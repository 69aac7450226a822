/** The store seen by the daemon: inserts are serialized so each one knows exactly which records it added, and announced to subscribers. */
import {EventEmitter} from 'node:events'
import type {SignedRecord} from '../core/record.js'
import type {Sealed} from '../core/seal.js'
import {columnsToSealed, type InsertResult, type RecordColumns, type Store} from '../core/store.js'

export interface Added {
  records: SignedRecord[]
}

export interface InsertDetail extends InsertResult {
  addedIds: string[]
  presentIds: string[]
}

/**
 * Wraps the runtime's store. The daemon is the only writer of the file, so checking presence
 * and inserting under one in-process lock gives each request its exact added/present ids, and
 * the `added` event carries only records that are new to the store.
 */
export class ObservedStore extends EventEmitter<{added: [Added]}> {
  private chain: Promise<unknown> = Promise.resolve()

  /** `onStored` counts every record newly stored, whichever route (records, sync) brought it. */
  constructor(
    readonly inner: Store,
    private readonly onStored: (n: number) => void = () => undefined,
  ) {
    super()
    this.setMaxListeners(0)
  }

  insertDetailed(batch: readonly Sealed[], wantIds = true): Promise<InsertDetail> {
    return this.locked(() => this.detailed(batch, wantIds))
  }

  /**
   * Column batches (ingest's and sync's bulk path) for a request that needs counts only: straight
   * to the adapter's column insert while nobody subscribes to `added`; with a subscriber, as
   * records, so the event carries exactly the new ones. Decided under the lock.
   */
  insertColumns(parts: readonly RecordColumns[]): Promise<InsertResult> {
    return this.locked(async () => {
      if (this.listenerCount('added') > 0 || !this.inner.insertColumns) {
        const d = await this.detailed(columnsToSealed(parts), false)
        return {added: d.added, present: d.present}
      }
      const res = await this.inner.insertColumns(parts)
      this.onStored(res.added)
      return res
    })
  }

  private locked<T>(run: () => Promise<T>): Promise<T> {
    const next = this.chain.then(run, run)
    this.chain = next.catch(() => undefined)
    return next
  }

  private async detailed(batch: readonly Sealed[], wantIds: boolean): Promise<InsertDetail> {
    // Nobody needs to know which records are new: skip the presence check, the adapter dedups anyway.
    if (!wantIds && this.listenerCount('added') === 0) {
      const res = await this.inner.insert(batch)
      this.onStored(res.added)
      return {...res, addedIds: [], presentIds: []}
    }
    const unique = new Map<string, Sealed>()
    for (const s of batch) unique.set(s.record.id, s)
    const present = await this.inner.has([...unique.keys()])
    const fresh = [...unique.values()].filter((s) => !present.has(s.record.id))
    if (fresh.length) await this.inner.insert(fresh)
    this.onStored(fresh.length)
    // Every record of the batch but the first copy of each new one was present: stored before, or
    // a repeat within the body. Listed as often as counted, so the ids add up to the counts.
    const firstCopy = new Set<string>()
    const presentIds: string[] = []
    for (const s of batch) {
      const id = s.record.id
      if (!present.has(id) && !firstCopy.has(id)) firstCopy.add(id)
      else presentIds.push(id)
    }
    const out = {added: fresh.length, present: presentIds.length, addedIds: fresh.map((s) => s.record.id), presentIds}
    if (fresh.length) this.emit('added', {records: fresh.map((s) => s.record)})
    return out
  }

  /** A Store for one request: same reads, inserts go through the lock and are tallied for the response. */
  forRequest(wantIds = true): {store: Store; added: string[]; present: string[]} {
    const added: string[] = []
    const present: string[] = []
    const insert = async (batch: readonly Sealed[]) => {
      const d = await this.insertDetailed(batch, wantIds)
      added.push(...d.addedIds)
      present.push(...d.presentIds)
      return {added: d.added, present: d.present}
    }
    const insertColumns = (parts: readonly RecordColumns[]) => this.insertColumns(parts)
    // Every other method is the inner store's, bound to it, so the wrapper keeps up as Store grows.
    const store = new Proxy(this.inner, {
      get(target, prop) {
        if (prop === 'insert') return insert
        // Column batches go through the lock, the metrics and the `added` event too; a request
        // that wants the ids of what it added hands records to `insert` above instead.
        if (prop === 'insertColumns') return wantIds || !target.insertColumns ? undefined : insertColumns
        if (prop === 'close') return async () => undefined
        const v = Reflect.get(target, prop, target)
        return typeof v === 'function' ? v.bind(target) : v
      },
    })
    return {store, added, present}
  }

  /** Wait for the writes already queued (graceful shutdown). */
  async drain(): Promise<void> {
    await this.chain
  }
}
