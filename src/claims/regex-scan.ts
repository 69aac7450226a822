/**
 * Regex extraction under a time budget. A user's regex can take practically forever on one file
 * (`^((a+)+)$` on a line of a's, or just `a*b` over a large minified file, which is quadratic), and
 * a regex cannot be interrupted on the thread that runs it; so the scans run on a worker thread that
 * is terminated when one file takes longer than the budget.
 */
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {MessageChannel, receiveMessageOnPort, Worker, type MessagePort} from 'node:worker_threads'
import {BugError} from '../core/errors.js'

/** Choice points (`?`, `|`) a regex may have and still run directly: at most 2^6 paths from each position. */
const MAX_CHOICES = 6

/**
 * Could this regex take more than linear time on some text? False only when it provably cannot: no
 * unbounded or counted quantifier (`*`, `+`, `{n}`, `{n,}`, `{n,m}`) and at most MAX_CHOICES `?` and `|`,
 * so a match attempt at each position explores a small, fixed number of paths. Literal scans
 * ("TODO", `BEGIN (RSA|EC) PRIVATE KEY`, `\bdebugger\b`) qualify; anything else runs on the worker.
 */
export function couldBacktrack(source: string): boolean {
  let choices = 0
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (c === '\\') {
      // \u{...}, \p{...}, \P{...}: the braces belong to the escape.
      if ('upP'.includes(source[i + 1]) && source[i + 2] === '{') i = source.indexOf('}', i)
      else i++
      if (i < 0) return true
    } else if (c === '[') {
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++
    } else if (c === '(' && source[i + 1] === '?') {
      // Group syntax, not a quantifier: (?:, (?=, (?!, (?<=, (?<!, (?<name>.
      i++
    } else if (c === '*' || c === '+' || (c === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(i)))) {
      return true
    } else if (c === '?' || c === '|') {
      choices++
    }
  }
  return choices > MAX_CHOICES
}

/** What one regex saw in one file: the number of matches, the first one's line, and (unless counting) each capture. */
export interface ScanHits {
  n: number
  first: number
  values: [value: string, line: number][]
}

export interface ScanJob {
  source: string
  flags: string
  count: boolean
  text: string
  /** Stop at the first match: a test (does it match?) rather than a scan. */
  once?: boolean
}

export type ScanOutcome = {hits: ScanHits} | {timedOut: true} | {error: string}

/** Every match of the regex (flags include g) in the text. */
export function scan(job: ScanJob): ScanHits {
  const {text} = job
  const re = new RegExp(job.source, job.flags)
  const values: [string, number][] = []
  let n = 0
  let first = 0
  // Lines are counted incrementally: one pass over the text however many matches there are.
  let line = 1
  let at = 0
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0] === '') re.lastIndex++
    for (let i = text.indexOf('\n', at); i !== -1 && i < m.index; i = text.indexOf('\n', i + 1)) line++, (at = i + 1)
    n++
    first ||= line
    if (!job.count && m[1] !== undefined) values.push([m[1], line])
    if (job.once) break
  }
  return {n, first, values}
}

export function scanSafely(job: ScanJob): ScanOutcome {
  try {
    return {hits: scan(job)}
  } catch (e) {
    // V8 throws when a regex's backtracking stack overflows.
    return {error: String((e as Error)?.message ?? e)}
  }
}

/** Messages between the scanner and its worker. */
export interface WorkerJob extends ScanJob {
  id: number
}
export type WorkerReply = {id: number} & ScanOutcome
export interface WorkerInit {
  port: MessagePort
  /** Int32 [running job id + 1, or 0 when idle; its start in ms since `epoch`]: read by the scanner's watchdog. */
  state: SharedArrayBuffer
  epoch: number
}

export interface Scanner {
  /**
   * Scan the jobs, in order. A job that runs over the budget is stopped and reported as timed out;
   * the jobs of `group(job)` after it are not run (a regex that blew the budget on one file would
   * likely do it again: one wait per regex, not one per file) and are reported as timed out too.
   */
  run(jobs: readonly ScanJob[], group: (i: number) => number): Promise<ScanOutcome[]>
  close(): Promise<void>
}

/** Scans on the calling thread, unbounded: only where the compiled worker is absent (tests run from source). */
class InlineScanner implements Scanner {
  async run(jobs: readonly ScanJob[]) {
    return jobs.map(scanSafely)
  }
  async close() {}
}

class WorkerScanner implements Scanner {
  private worker?: {w: Worker; port: MessagePort; state: Int32Array; epoch: number}

  constructor(
    private readonly url: URL,
    private readonly budgetMs: number,
  ) {
    this.worker = this.spawn()
  }

  private spawn() {
    const {port1, port2} = new MessageChannel()
    const state = new SharedArrayBuffer(8)
    const epoch = Date.now()
    const w = new Worker(this.url, {workerData: {port: port2, state, epoch} satisfies WorkerInit, transferList: [port2]})
    // An idle worker never keeps the process alive; a run in progress keeps it alive through its timer.
    w.unref()
    port1.unref()
    return {w, port: port1, state: new Int32Array(state), epoch}
  }

  async run(jobs: readonly ScanJob[], group: (i: number) => number): Promise<ScanOutcome[]> {
    const out: (ScanOutcome | undefined)[] = new Array(jobs.length)
    const stopped = new Set<number>()
    let todo = jobs.map((_, i) => i)
    while (todo.length) {
      const timedOut = await this.runSome(jobs, todo, out)
      if (timedOut === undefined) break
      out[timedOut] = {timedOut: true}
      stopped.add(group(timedOut))
      todo = todo.filter((i) => out[i] === undefined)
      for (const i of todo) if (stopped.has(group(i))) out[i] = {timedOut: true}
      todo = todo.filter((i) => out[i] === undefined)
      // The stopped worker is not replaced here: runSome starts one only if a job is left for it.
    }
    return out as ScanOutcome[]
  }

  /** Run jobs on the current worker until all are done (undefined) or one runs over the budget (its index; the worker is gone). */
  private runSome(jobs: readonly ScanJob[], todo: readonly number[], out: (ScanOutcome | undefined)[]): Promise<number | undefined> {
    const wk = this.worker ?? (this.worker = this.spawn())
    let left = todo.length
    return new Promise((resolve, reject) => {
      const done = (r: number | undefined, e?: Error) => {
        clearInterval(watchdog)
        wk.port.off('message', take)
        wk.w.off('error', fail)
        wk.w.off('exit', exited)
        if (e) reject(e)
        else resolve(r)
      }
      const take = (m: WorkerReply) => {
        const {id, ...outcome} = m
        out[id] = outcome
        if (--left === 0) done(undefined)
      }
      const fail = (e: Error) => done(undefined, new BugError(`regex worker failed: ${String(e)}`, {cause: e}))
      const exited = (code: number) => done(undefined, new BugError(`regex worker exited (code ${code})`))
      const watchdog = setInterval(
        () => {
          const running = Atomics.load(wk.state, 0) - 1
          if (running < 0 || out[running] !== undefined) return
          // The start is read after the id: if the worker moved on meanwhile it is later, never a false timeout.
          if (Date.now() - (wk.epoch + Atomics.load(wk.state, 1)) <= this.budgetMs) return
          // Replies already sent are taken before the worker goes, and the job may have finished just now.
          for (let m = receiveMessageOnPort(wk.port); m; m = receiveMessageOnPort(wk.port)) take(m.message as WorkerReply)
          if (left === 0 || out[running] !== undefined) return
          this.worker = undefined
          void wk.w.terminate()
          wk.port.close()
          done(running)
        },
        Math.max(10, Math.min(100, this.budgetMs / 5)),
      )
      wk.port.on('message', take)
      wk.w.on('error', fail)
      wk.w.on('exit', exited)
      wk.port.postMessage(todo.map((i) => ({...jobs[i], id: i}) satisfies WorkerJob))
    })
  }

  async close() {
    const wk = this.worker
    this.worker = undefined
    if (!wk) return
    wk.port.close()
    await wk.w.terminate()
  }
}

/** Start a scanner now, so its thread loads while files are read. */
export function startScanner(budgetMs: number): Scanner {
  const url = new URL('./regex-worker.js', import.meta.url)
  return existsSync(fileURLToPath(url)) ? new WorkerScanner(url, budgetMs) : new InlineScanner()
}
