/** The records the daemon stored lately, in the order it stored them: what lets an event stream resume exactly where it left off. */
import {randomBytes} from 'node:crypto'
import type {SignedRecord} from '../core/record.js'
import {quoteInput} from './errors.js'

/** A record as event streams send it: its id, its subject (assertions only, for the prefix filter), its JSON. */
export interface Entry {
  id: string
  subject?: string
  data: string
}

/** How much the journal keeps: the newest records up to both bounds (the newest one always). */
export interface JournalLimits {
  records: number
  /** Characters of the records' JSON, plus a little per record. */
  bytes: number
}

export const JOURNAL_LIMITS: JournalLimits = {records: 100_000, bytes: 32 * 1024 * 1024}

/** Characters counted per entry beside its JSON (its id, the map's slot). */
const ENTRY_COST = 160

/** What a stream missed since a position: the entries stored after it, or why the journal cannot say. */
export type Since = {entries: Entry[]} | {lost: string}

/**
 * Records in the order they were newly stored, whatever their stamps: a record pulled or pushed
 * from a peer keeps its own (possibly old) hlc, so the log's (hlc, id) order is no arrival order.
 * A position is the id of the last record a stream was sent, or, before any, the mark of the
 * journal's start (`begin-<generation>`). The journal holds an unbroken run of arrivals: when
 * records are stored that it did not see, it starts again (`gap`) under a new generation, so no
 * position from before can resume as if nothing was missed.
 */
export class Journal {
  private entries: Entry[] = []
  /** Index in `entries` of the oldest entry held (evicted ones before it are dropped in bulk). */
  private head = 0
  /** Arrival number of entries[head]. */
  private first = 0
  private readonly seq = new Map<string, number>()
  private bytes = 0
  private generation = newGeneration()
  /** Whether entries of this generation were dropped for the bounds (its start mark no longer resumes). */
  private evicted = false

  constructor(readonly limits: JournalLimits = JOURNAL_LIMITS) {}

  get size(): number {
    return this.entries.length - this.head
  }

  /** Newly stored records, in the order stored: their entries, as streams send them. */
  append(records: readonly SignedRecord[]): Entry[] {
    const added = records.map((r) => ({id: r.id, subject: r.kind === 'assertion' ? r.subject : undefined, data: JSON.stringify(r)}))
    for (const e of added) {
      this.seq.set(e.id, this.first + this.size)
      this.entries.push(e)
      this.bytes += cost(e)
    }
    while (this.size > 1 && (this.size > this.limits.records || this.bytes > this.limits.bytes)) {
      const e = this.entries[this.head++]
      this.seq.delete(e.id)
      this.bytes -= cost(e)
      this.first++
      this.evicted = true
    }
    if (this.head > 4096 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head)
      this.head = 0
    }
    return added
  }

  /**
   * Records were stored that the journal did not see: forget everything, so nothing resumes past
   * them. Always under a new generation, even when empty: the start mark of the old one may have
   * been handed to a stream already.
   */
  gap(): void {
    this.entries = []
    this.head = 0
    this.first = 0
    this.seq.clear()
    this.bytes = 0
    this.evicted = false
    this.generation = newGeneration()
  }

  /** The position after every record stored so far: the newest record's id, or the start mark while there is none. */
  position(): string {
    return this.size ? this.entries[this.entries.length - 1].id : `begin-${this.generation}`
  }

  /** What was stored after `position`, in arrival order. */
  since(position: string): Since {
    if (position === `begin-${this.generation}`) {
      return this.evicted ? {lost: `more records were stored since ${position} than the daemon keeps (${this.limits.records} records, ${this.limits.bytes} bytes)`} : {entries: this.entries.slice(this.head)}
    }
    const n = this.seq.get(position)
    if (n === undefined) {
      return {
        lost: `the daemon does not know ${quoteInput(position, 80)} as a place in its stream: it restarted since, or stored more records since than it keeps (${this.limits.records} records, ${this.limits.bytes} bytes), or stored records while no stream was open for longer than it keeps track`,
      }
    }
    return {entries: this.entries.slice(this.head + (n - this.first) + 1)}
  }
}

const cost = (e: Entry): number => e.data.length + ENTRY_COST

const newGeneration = (): string => randomBytes(8).toString('hex')
