/** A simulated network for sync tests: real Transport objects whose links partition, heal, delay, reorder, drop and replay messages. */
import {TransientError, type Transport} from '../../src/core/transport.js'
import type {SyncHandler} from '../../src/sync/server.js'

/** A small seeded PRNG (mulberry32, shared with the benchmarks), so a failing schedule can be replayed from its seed. */
export {rng as prng} from '../../bench/rng.mjs'

export interface NetFaults {
  /** Requests or responses lost (partitioned links and random drops). */
  dropped: number
  /** Stale requests delivered again, out of order. */
  replayed: number
  /** Partitions and heals applied. */
  splits: number
}

/** Yield to the event loop a few times, so concurrent messages overtake each other. */
const ticks = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r))
}

export class SimNet {
  /** Peer i can reach peer j when they sit in the same group. */
  private group: number[]
  readonly faults: NetFaults = {dropped: 0, replayed: 0, splits: 0}
  drop: number
  replay: number

  constructor(
    readonly peers: number,
    readonly rand: () => number,
    opts: {drop?: number; replay?: number; maxDelay?: number} = {},
  ) {
    this.group = new Array(peers).fill(0)
    this.drop = opts.drop ?? 0.05
    this.replay = opts.replay ?? 0.05
    this.maxDelay = opts.maxDelay ?? 6
  }

  private readonly maxDelay: number

  /** Split the peers into random groups (a partition); may leave them all together. */
  partition(): void {
    const k = 1 + Math.floor(this.rand() * this.peers)
    this.group = this.group.map(() => Math.floor(this.rand() * k))
    this.faults.splits++
  }

  heal(): void {
    this.group.fill(0)
    this.faults.splits++
  }

  /** No more faults from here on (the final healing before convergence is checked). */
  calm(): void {
    this.heal()
    this.drop = 0
    this.replay = 0
  }

  linked(a: number, b: number): boolean {
    return this.group[a] === this.group[b]
  }

  private delay(): Promise<void> {
    return ticks(Math.floor(this.rand() * (this.maxDelay + 1)))
  }

  /** A transport from peer `from` to the handler serving peer `to`. */
  transport(from: number, to: number, handler: SyncHandler): Transport {
    const sent: Uint8Array[] = []
    const lost = (what: string) => {
      this.faults.dropped++
      return new TransientError(`sim ${from}->${to}: ${what}`)
    }
    return {
      remote: `peer${to}`,
      request: async (message) => {
        await this.delay()
        if (!this.linked(from, to)) throw lost('partitioned')
        if (this.rand() < this.drop) throw lost('request dropped')
        if (sent.length && this.rand() < this.replay) {
          // An old request arrives again, late; the server is stateless, so it must do no harm.
          this.faults.replayed++
          await handler.handle(Uint8Array.from(sent[Math.floor(this.rand() * sent.length)]))
        }
        sent.push(Uint8Array.from(message))
        if (sent.length > 8) sent.shift()
        const res = await handler.handle(Uint8Array.from(message))
        await this.delay()
        // The server acted on the request, but the answer never arrives.
        if (!this.linked(from, to)) throw lost('partitioned before the answer')
        if (this.rand() < this.drop) throw lost('response dropped')
        return Uint8Array.from(res)
      },
      close: async () => {},
    }
  }
}
