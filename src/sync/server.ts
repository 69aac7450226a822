/** The serving side of sync: a stateless handler from a request message to a response message, for any transport. */
import {UserError} from '../core/errors.js'
import {damagedStoreError} from '../core/render-error.js'
import type {Store} from '../core/store.js'
import {recordLine} from '../core/seal.js'
import {newOutcome, rangeFrames, respond, rootFingerprint} from './reconcile.js'
import {Receiver, type ReceiveDeps, type Received} from './receive.js'
import {LocalView} from './view.js'
import {MAX_MESSAGE, PROTOCOL, SOFT_MESSAGE, T, VERSION, WireError, decode, encode, encodedSize, lineText, recordFrameSize, type Frame, type Hello} from './wire.js'

/** The server reads NEED_IN ids by their bucket span (a client sends NEED_IN only to a server that lists it). */
export const NEED_SPAN = 'need-span'
export const CAPS = ['fp16-sum256', 'ids', 'records', 'one-diff', NEED_SPAN]

/**
 * A NEED_IN span is read as a stretch of the store while it holds at most this many records per
 * id asked for: scanning a record's hlc and id costs far less than one id lookup, which fetches
 * a row from wherever it lies in the file (measured on 1M records, cold: 30k ids in 1,000-id
 * lookups 1.8 s, by span 0.75-0.9 s).
 */
const SPAN_SCAN_PER_ID = 64

/** Ids offered per response at most (6 MiB); with records (4 MiB) and ranges a response stays under MAX_MESSAGE. */
const MAX_OFFER = 196_608
/**
 * Range frames in a response stop at about this many bytes (the rest are answered next time);
 * records have a budget of their own (SOFT_MESSAGE), so a response carries both at once.
 */
const MAX_REPLY_RANGES_BYTES = 3 * 1024 * 1024
/** Room kept free under MAX_MESSAGE when offers fill the rest of a response. */
const SLACK = 256 * 1024

export interface SyncHandler {
  /** Answer one request. Never throws for a bad request: the answer is then an error frame. */
  handle(request: Uint8Array): Promise<Uint8Array>
  close(): Promise<void>
}

type Span = {a: number; b: number}

const errorReply = (code: string, message: string) => encode([{t: T.Error, code, message}])

export interface HandlerOptions {
  /** Refuse pushed records. */
  readOnly?: boolean
  /**
   * Nothing but this handler writes to the store while it lives (`sync-serve`, the path
   * transport): the bucket table is then read once and reread only after pushes. Leave it off
   * when other code writes to the same store (the daemon).
   */
  soleWriter?: boolean
  /** Told what each push brought: the daemon counts the rejected records, as it does for POST /v1/records. */
  onReceived?: (r: Received) => void
}

/** Records by id as wire lines (UTF-8): straight from the stored bytes where the store can, else parsed and re-serialised. */
export async function storedLines(store: Store, ids: readonly string[]): Promise<Uint8Array[]> {
  if (store.recordLines) return store.recordLines(ids)
  return (await store.get(ids)).map((s) => Buffer.from(recordLine(s.canonical, s.record.id, s.record.sig)))
}

/**
 * Read the records of `wanted` (ids with their NEED_IN span, if any) as RECORD frames, in order,
 * until `budget` bytes are used; the ids not reached are returned in `rest`.
 */
async function readRecords(store: Store, view: LocalView, wanted: ReadonlyMap<string, Span | undefined>, budget: number): Promise<{records: Frame[]; rest: string[]; budget: number}> {
  const ids = [...wanted.keys()]
  const spans = [...wanted.values()]
  const records: Frame[] = []
  let i = 0
  while (i < ids.length && budget > 0) {
    // Parts sized by what the budget still holds (about 450 B a record), so one query rarely
    // overshoots; a part holds ids of one span only, and a span is read in one query when the
    // budget allows (each query scans the span).
    const span = spans[i]
    const max = Math.min(span ? 16_384 : 1000, Math.max(64, Math.ceil(budget / 400)))
    let end = i + 1
    while (end < ids.length && end - i < max && spans[end] === span) end++
    const part = ids.slice(i, end)
    const bySpan = span && store.recordLinesIn && view.countUpper({a: span.a, b: span.b, bits: 0, prefix: 0}) <= SPAN_SCAN_PER_ID * part.length
    for (const line of bySpan ? await store.recordLinesIn!(part, span.a, span.b) : await storedLines(store, part)) {
      records.push({t: T.Record, line})
      budget -= recordFrameSize(line)
    }
    i = end
  }
  return {records, rest: ids.slice(i), budget}
}

/**
 * DuckDB worker threads for a process that serves sync (`sync-serve`, the other store of a path
 * sync): one. Its reads (id lists by bucket, record lines by span) are scans DuckDB can split,
 * but the split costs more CPU than it saves time unless cores sit idle. Measured on the 2-core
 * development machine, replaying the eleven requests of a 100k-record pull against the 1M-record
 * store: 3.2-3.4 s of CPU on one thread against 3.4-3.8 s on two, for 2.43-2.59 s of wall time
 * against 2.18-2.38 s (an idle server answers ~8% slower). With the client on the same machine,
 * as the sync bench runs it over SSH, the whole pull took 0.3-0.5 s less wall time in each of
 * seven interleaved pairs (about 1 s less CPU). `sync-serve --db-threads` raises it.
 */
export const SYNC_SERVER_DB_THREADS = 1

/** Serve sync for a store. Mount `handle` on any framing: stdio, an HTTP route, a direct call. */
export function createSyncHandler(deps: ReceiveDeps & HandlerOptions): SyncHandler {
  const receiver = new Receiver(deps)
  let cached: Promise<LocalView> | undefined
  const loadView = () => {
    const p = LocalView.load(deps.store)
    p.catch(() => undefined)
    return p
  }
  // The sole writer reads its bucket table now, while the client connects and prepares its
  // opening request, instead of when that request arrives.
  if (deps.soleWriter) cached = loadView()
  // One request at a time: pushes commit in order, and each view sees the last commit.
  let queue: Promise<unknown> = Promise.resolve()
  const handle = async (request: Uint8Array): Promise<Uint8Array> => {
    let frames: Frame[]
    try {
      if (request.length > MAX_MESSAGE) return errorReply('too_large', `request of ${request.length} bytes exceeds the bound of ${MAX_MESSAGE}`)
      frames = decode(request)
    } catch (e) {
      if (e instanceof WireError) return errorReply('malformed', e.message)
      throw e
    }
    const first = frames[0]
    if (!first || first.t !== T.Hello || first.hello.proto !== PROTOCOL) return errorReply('malformed', `the first frame must be a ${PROTOCOL} hello`)
    if (first.hello.v !== VERSION) return errorReply('version', `this peer speaks ${PROTOCOL} version ${VERSION}, the request is version ${first.hello.v}`)
    const mode = first.hello.mode ?? 'sync'
    const sendsRecords = mode !== 'push'
    const takesRecords = mode !== 'pull'
    if (takesRecords && deps.readOnly) return errorReply('forbidden', 'this peer serves read-only: pull only')
    const reply: Frame[] = []
    const pushed = frames.filter((f): f is Extract<Frame, {t: T.Record}> => f.t === T.Record).map((f) => lineText(f.line))
    if (pushed.length) {
      if (!takesRecords) return errorReply('malformed', 'records pushed in pull mode')
      const r = await receiver.take(pushed)
      cached = undefined
      deps.onReceived?.(r)
      reply.push({t: T.Ack, added: r.added, present: r.present, rejected: r.rejected, errors: r.errors})
    }
    let view: LocalView
    if (deps.soleWriter) {
      const p = (cached ??= loadView())
      try {
        view = await p
      } catch (e) {
        if (cached === p) cached = undefined
        throw e
      }
    } else view = await LocalView.load(deps.store)
    view.forgetIds()
    const ranges = rangeFrames(frames)
    // Records the client asked for, each id with the bucket span its NEED_IN gave (the first
    // mention wins). They are read while the ranges are compared: two store reads at once.
    const asked = new Map<string, Span | undefined>()
    if (sendsRecords) {
      for (const f of frames) {
        if (f.t === T.Need) for (const id of f.ids) if (!asked.has(id)) asked.set(id, undefined)
        if (f.t === T.NeedIn) {
          const span = {a: f.a, b: f.b}
          for (const id of f.ids) if (!asked.has(id)) asked.set(id, span)
        }
      }
    }
    const [out, byAsk] = await Promise.all([respond(view, ranges, newOutcome(), MAX_REPLY_RANGES_BYTES), readRecords(deps.store, view, asked, SOFT_MESSAGE)])
    const root = await rootFingerprint(view)
    const hello: Hello = {proto: PROTOCOL, v: VERSION, caps: CAPS, max: SOFT_MESSAGE, top: view.top, records: root.count, root: root.fingerprint}
    if (out.handled < ranges.length) hello.handled = out.handled
    if (out.compared) hello.compared = out.compared
    const head: Frame[] = [{t: T.Hello, hello}, ...reply, ...out.reply]
    if (takesRecords && out.iLack.length) head.push({t: T.Need, ids: out.iLack})
    // Then what the comparison found the client lacks, in what the budget has left; the rest
    // of both is offered by id for the next request.
    const found = new Map<string, Span | undefined>()
    if (sendsRecords) for (const id of out.peerLacks) if (!asked.has(id)) found.set(id, undefined)
    const byFind = await readRecords(deps.store, view, found, byAsk.budget)
    const records = [...byAsk.records, ...byFind.records]
    const rest = [...byAsk.rest, ...byFind.rest]
    const budget = byFind.budget
    const headBytes = encodedSize(head)
    // Offers are bounded too, by what is left under MAX_MESSAGE; whatever does not fit is
    // flagged, and the client runs another pass.
    const room = Math.floor((MAX_MESSAGE - SLACK - headBytes - (SOFT_MESSAGE - budget)) / 32)
    const maxOffer = Math.max(0, Math.min(MAX_OFFER, room))
    const offer: Frame[] = []
    for (let j = 0; j < rest.length && j < maxOffer; j += 4096) offer.push({t: T.Offer, ids: rest.slice(j, Math.min(j + 4096, maxOffer))})
    if (rest.length > maxOffer) hello.more = true
    return encode([...head, ...records, ...offer])
  }
  return {
    handle(request) {
      const next = queue.then(() => handle(request))
      queue = next.catch(() => undefined)
      return next.catch((e) => {
        if (e instanceof UserError) return errorReply(e.code, e.message)
        // A store file that cannot be read back is not a bug: the client says so, with what to do.
        const damaged = damagedStoreError(e)
        if (damaged) return errorReply(damaged.code, damaged.message)
        return errorReply('internal', `the remote failed: ${(e as Error).message}`)
      })
    },
    // Wait for DuckDB work still in flight (the view read ahead for the first request, a request
    // being answered) before the store may close: closing the store under a running query
    // crashed or hung the process when a peer's first message was refused.
    async close() {
      await queue
      await cached?.catch(() => undefined)
      await receiver.close()
    },
  }
}
