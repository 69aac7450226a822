/** The store seen by the daemon: inserts are serialized so each one knows exactly which records it added, and announced to subscribers. */
import {EventEmitter} from 'node:events'
import type {SignedRecord} from '../core/record.js'
import type {Sealed} from '../core/seal.js'
import {columnsToSealed, type InsertResult, type RecordColumns, type Store} from '../core/store.js'
import {Journal, type Entry, type JournalLimits, type Since} from './journal.js'

export interface Added {
  records: SignedRecord[]
  /** The same records as event streams send them. */
  entries: Entry[]
  /**
   * Set (with no records) when an insert failed part way: records may have been stored that no
   * event announces (a retry finds them present), so live streams must say so, as a resume that
   * cannot be exact does.
   */
  lost?: string
}

/** How long after the last event stream closes the daemon keeps learning which records are new, so a stream can resume. */
export const RESUME_MS = 10 * 60_000

export interface EventOptions {
  /** How long after the last subscriber leaves the journal is kept up (ms). */
  resumeMs?: number
  journal?: JournalLimits
  /** How often an open stream gets a `: ping` comment, so proxies keep it open (ms; 15 s by default). */
  heartbeatMs?: number
}

/** A subscription: what was missed since the position asked to resume from, and the position now. */
export interface Subscription {
  /** Entries stored after the position given, or why they cannot be told; absent when none was given. */
  missed?: Since
  position: string
  close(): void
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

  /** Every record newly stored while anyone listens or may come back, in arrival order (see Journal). */
  private readonly journal: Journal

  private readonly resumeMs: number

  /** Until when, after the last subscriber left, inserts still learn which records are new and journal them. */
  private keepUntil = 0

  /** `onStored` counts every record newly stored, whichever route (records, sync) brought it. */
  constructor(
    readonly inner: Store,
    private readonly onStored: (n: number) => void = () => undefined,
    opts: EventOptions = {},
  ) {
    super()
    this.setMaxListeners(0)
    this.journal = new Journal(opts.journal)
    this.resumeMs = opts.resumeMs ?? RESUME_MS
  }

  /**
   * Listen for records as they are newly stored. With `from` (a position a stream was given: the
   * last event's id), also what was stored after it. Taken under the write lock, in one turn with
   * adding the listener: a write already under way (one that took the bulk path, unseen by the
   * journal) ends first, and every later one sees the listener, so no record falls between the
   * catch-up and the live events, nor comes in both.
   */
  subscribe(listener: (added: Added) => void, from?: string): Promise<Subscription> {
    return this.locked(async () => {
      const missed = from === undefined ? undefined : this.journal.since(from)
      const position = this.journal.position()
      this.on('added', listener)
      return {
        missed,
        position,
        close: () => {
          this.off('added', listener)
          if (this.listenerCount('added') === 0) this.keepUntil = Date.now() + this.resumeMs
        },
      }
    })
  }

  /**
   * Whether inserts must learn which records are new: someone listens, or the last subscriber left
   * recently enough to come back and resume. Otherwise writes take the bulk path, which only
   * counts, and the journal starts again after them.
   */
  private tracking(): boolean {
    return this.listenerCount('added') > 0 || Date.now() < this.keepUntil
  }

  /** Newly stored records: journalled and announced while tracking; otherwise the journal has missed them. */
  private announce(records: SignedRecord[]): void {
    if (!records.length) return
    if (!this.tracking()) return this.journal.gap()
    const entries = this.journal.append(records)
    this.emit('added', {records, entries})
  }

  /**
   * An insert failed, and some of its records may be stored all the same: no stream may resume as
   * if it had seen them all (the journal starts again), and the open ones are told.
   */
  private failed(e: unknown): never {
    this.journal.gap()
    if (this.listenerCount('added') > 0) this.emit('added', {records: [], entries: [], lost: 'an insert failed part way, and records it stored may never be sent on this stream (a retry finds them present)'})
    throw e
  }

  /** The place after every record stored so far, as a stream's `id:` gives it. */
  position(): string {
    return this.journal.position()
  }

  insertDetailed(batch: readonly Sealed[], wantIds = true): Promise<InsertDetail> {
    return this.locked(() => this.detailed(batch, wantIds))
  }

  /**
   * Column batches (ingest's and sync's bulk path) for a request that needs counts only: straight
   * to the adapter's column insert while nobody subscribes to `added` nor may come back to resume;
   * otherwise as records, so the event and the journal carry exactly the new ones. Decided under
   * the lock.
   */
  insertColumns(parts: readonly RecordColumns[]): Promise<InsertResult> {
    return this.locked(async () => {
      if (this.tracking() || !this.inner.insertColumns) {
        const d = await this.detailed(columnsToSealed(parts), false)
        return {added: d.added, present: d.present}
      }
      const res = await this.inner.insertColumns(parts).catch((e: unknown) => this.failed(e))
      this.onStored(res.added)
      if (res.added) this.journal.gap()
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
    if (!wantIds && !this.tracking()) {
      const res = await this.inner.insert(batch).catch((e: unknown) => this.failed(e))
      this.onStored(res.added)
      if (res.added) this.journal.gap()
      return {...res, addedIds: [], presentIds: []}
    }
    const unique = new Map<string, Sealed>()
    for (const s of batch) unique.set(s.record.id, s)
    const present = await this.inner.has([...unique.keys()])
    const fresh = [...unique.values()].filter((s) => !present.has(s.record.id))
    if (fresh.length) await this.inner.insert(fresh).catch((e: unknown) => this.failed(e))
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
    this.announce(fresh.map((s) => s.record))
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
