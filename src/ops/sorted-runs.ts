/** An external merge sort: items kept in memory up to a cap, spilled to disk as sorted runs, read back merged in order. */
import {createReadStream, rmSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {UserError} from '../core/errors.js'
import {cleanupOnExit} from '../exit-cleanup.js'

/**
 * Runs merged at once, at most: each is an open file and a read buffer (about 64 KiB, and up to
 * about a thousand lines its reader holds). Well under the 1,024 files a process may open where
 * the limit is the lowest common one.
 */
export const FAN_IN = 64

/**
 * Holds at most `runItems` items; each time it is full they are sorted and written to a temporary
 * file as NDJSON (one run). Reading merges the runs and what is held, in `compare` order, so a
 * listing of any length costs memory for one run plus a read buffer per run. Items must survive a
 * JSON round trip unchanged (strings, finite numbers, arrays and plain objects; an undefined
 * property is dropped, as JSON.stringify drops it anyway).
 */
export class SortedRuns<T> {
  private held: T[] = []
  private readonly files: string[] = []
  /** Run files made so far, for their names (merging runs makes new ones). */
  private made = 0
  private dir: string | undefined
  /** Undoes removedOnExit for `dir`. */
  private unhook: (() => void) | undefined
  /** Items added in all. */
  count = 0
  /** The most items held in memory at once: at most `runItems`. */
  peakHeld = 0

  constructor(
    private readonly compare: (a: T, b: T) => number,
    private readonly runItems: number,
    private readonly tmp: string = tmpdir(),
    /** Sees each item as it is added. */
    private readonly onAdd?: (item: T) => void,
    /** Runs merged at once, at most: more are first merged into longer runs, this many at a time. */
    private readonly fanIn: number = FAN_IN,
  ) {
    if (!(runItems >= 1)) throw new RangeError(`runItems must be at least 1, got ${runItems}`)
  }

  /** Runs written to disk so far. */
  get runs(): number {
    return this.files.length
  }

  async add(item: T): Promise<void> {
    this.onAdd?.(item)
    this.held.push(item)
    this.count++
    if (this.held.length > this.peakHeld) this.peakHeld = this.held.length
    if (this.held.length >= this.runItems) await this.spill()
  }

  private async spill(): Promise<void> {
    try {
      await this.write()
    } catch (e) {
      throw this.tmpError(e)
    }
  }

  /** A temporary directory that cannot take a run (missing, not writable, full): said as such. */
  private tmpError(e: unknown): unknown {
    if (e instanceof UserError || typeof (e as NodeJS.ErrnoException).code !== 'string') return e
    const reason = (e as Error).message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '')
    return new UserError(`cannot write a long listing's sorted runs to the temporary directory ${this.dir ?? this.tmp}: ${reason}`, {
      code: (e as NodeJS.ErrnoException).code === 'ENOSPC' ? 'no_space' : 'forbidden',
      exit: 1,
      hint: 'point TMPDIR at a writable directory with room (the runs take about as much as the listing printed as JSON), or pass --limit',
      cause: e,
    })
  }

  private async write(): Promise<void> {
    this.held.sort(this.compare)
    if (!this.dir) {
      this.dir = await mkdtemp(join(this.tmp, 'steme-sort-'))
      this.unhook = removedOnExit(this.dir)
    }
    this.files.push(await this.writeRun([this.held]))
    this.held = []
  }

  /** A new run file holding the items of `batches`, in the order given. */
  private async writeRun(batches: Iterable<readonly T[]> | AsyncIterable<readonly T[]>): Promise<string> {
    const file = join(this.dir!, `run-${this.made++}.ndjson`)
    // Written in pieces: one string of a whole run would be the memory the runs are there to save.
    let text = ''
    let first = true
    for await (const items of batches) {
      for (const item of items) {
        text += JSON.stringify(item) + '\n'
        if (text.length >= 1 << 20) {
          await writeFile(file, text, {flag: first ? 'w' : 'a'})
          first = false
          text = ''
        }
      }
    }
    if (text || first) await writeFile(file, text, {flag: first ? 'w' : 'a'})
    return file
  }

  /**
   * Merges runs, `fanIn` at a time, into longer ones until at most `fanIn` are left: each run is
   * an open file while merged, and a long listing's runs could outnumber the files a process may
   * open (ulimit -n; EMFILE), besides taking a read buffer each.
   */
  private async narrow(): Promise<void> {
    while (this.files.length > this.fanIn) {
      const group = this.files.slice(0, this.fanIn)
      let file: string
      try {
        file = await this.writeRun(this.merge(group.map((f) => runIterator<T>(f)), 1024))
      } catch (e) {
        throw this.tmpError(e)
      }
      this.files.splice(0, group.length)
      this.files.push(file)
      await Promise.all(group.map((f) => rm(f, {force: true})))
    }
  }

  /** Every item in order, in batches of up to `batch`. May be read more than once, until close(). */
  async *sorted(batch = 1024): AsyncGenerator<T[]> {
    this.held.sort(this.compare)
    // What is held counts as one of the sources merged at once.
    await this.narrow()
    yield* this.merge([arrayIterator(this.held), ...this.files.map((f) => runIterator<T>(f))], batch)
  }

  /** The items of sorted `sources` in `compare` order, in batches of up to `batch`. */
  private async *merge(sources: Array<AsyncIterator<T>>, batch: number): AsyncGenerator<T[]> {
    try {
      // A binary heap of the sources' current heads.
      const heap: Array<{item: T; src: AsyncIterator<T>}> = []
      const before = (i: number, j: number) => this.compare(heap[i].item, heap[j].item) < 0
      const up = (i: number) => {
        while (i > 0) {
          const p = (i - 1) >> 1
          if (!before(i, p)) break
          ;[heap[i], heap[p]] = [heap[p], heap[i]]
          i = p
        }
      }
      const down = (i: number) => {
        for (;;) {
          const l = 2 * i + 1
          const r = l + 1
          let m = i
          if (l < heap.length && before(l, m)) m = l
          if (r < heap.length && before(r, m)) m = r
          if (m === i) return
          ;[heap[i], heap[m]] = [heap[m], heap[i]]
          i = m
        }
      }
      for (const src of sources) {
        const n = await src.next()
        if (!n.done) {
          heap.push({item: n.value, src})
          up(heap.length - 1)
        }
      }
      let out: T[] = []
      while (heap.length) {
        const top = heap[0]
        out.push(top.item)
        const n = await top.src.next()
        if (n.done) {
          const last = heap.pop()!
          if (heap.length) {
            heap[0] = last
            down(0)
          }
        } else {
          top.item = n.value
          down(0)
        }
        if (out.length >= batch) {
          yield out
          out = []
        }
      }
      if (out.length) yield out
    } finally {
      await Promise.all(sources.map((s) => s.return?.()))
    }
  }

  /** Removes the runs written. */
  async close(): Promise<void> {
    this.held = []
    if (this.dir) await rm(this.dir, {recursive: true, force: true})
    this.unhook?.()
    this.unhook = undefined
    this.dir = undefined
    this.files.length = 0
  }
}

async function* arrayIterator<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items
}

async function* runIterator<T>(file: string): AsyncGenerator<T> {
  // A small read buffer per run: a long listing has many runs, up to FAN_IN open at once while merging.
  const input = createReadStream(file, {highWaterMark: 1 << 16})
  const lines = createInterface({input, crlfDelay: Infinity})
  try {
    for await (const line of lines) if (line) yield JSON.parse(line) as T
  } finally {
    lines.close()
    // Closing the lines leaves the file open: a listing its reader stopped (`| head`) kept every run's.
    input.destroy()
  }
}

/**
 * Has `dir` removed should the process end before close() does: by Ctrl-C, SIGTERM or a terminal
 * hanging up while a long listing is ranked or printed (the runs are about the listing's size as
 * JSON, and were left in the temporary directory at every interrupted run), or by process.exit().
 */
const removedOnExit = (dir: string): (() => void) => cleanupOnExit(() => rmSync(dir, {recursive: true, force: true}))
