/** The initiating side of sync: drives rounds against a transport until both sides' differences are settled. */
import {BugError, UserError} from '../core/errors.js'
import {TransportError, type Transport} from '../core/transport.js'
import {newOutcome, opening, respond, rootFingerprint} from './reconcile.js'
import {Receiver, RecordChunks, type ReceiveDeps} from './receive.js'
import {DEFAULT_RETRY, requestWithRetry, type RetryPolicy} from './retry.js'
import {remoteStoreCode, remoteStoreError} from './remote-errors.js'
import {CAPS, NEED_SPAN, storedLines} from './server.js'
import {LocalView} from './view.js'
import {PROTOCOL, SOFT_MESSAGE, T, VERSION, WireError, decode, encode, encodedSize, recordFrameSize, type Frame, type Hello, type Range} from './wire.js'

export type SyncMode = 'pull' | 'push' | 'sync'

export interface SyncProgress {
  rounds: number
  ranges: number
  received: number
  sent: number
  rejected: number
  bytesOut: number
  bytesIn: number
}

export interface SyncSummary extends SyncProgress {
  remote: string
  mode: SyncMode
  /** Records stored here: new, already present, refused (bad id, signature, shape or clock skew). */
  local: {added: number; present: number; rejected: number}
  /** What the remote reported for the records we pushed. */
  remoteResult: {added: number; present: number; rejected: number}
  /** Bytes of record lines received and sent (the rest of bytesIn/bytesOut is protocol overhead). */
  recordBytesIn: number
  recordBytesOut: number
  /** The first rejections, here and at the remote. */
  errors: {where: 'local' | 'remote'; id?: string; reason: string}[]
  /** Root fingerprints after the sync; equal after a full `sync` means equal sets. */
  localRoot: {count: number; fingerprint: string}
  remoteRoot?: {count: number; fingerprint: string}
  ms: number
}

export interface SyncOptions {
  mode: SyncMode
  retry?: RetryPolicy
  onProgress?: (p: SyncProgress) => void
  maxRounds?: number
  /** Verification threads for received records (default: one per core). */
  threads?: number
}

const WANT_PER_MESSAGE = 65_536
const MAX_PASSES = 8
/** Received batches (responses' records) verified and stored at once, at most: two keep the workers busy across a round trip. */
const BATCHES_IN_FLIGHT = 2
const RANGES_PER_REQUEST = 16_384
/**
 * Responses in a row that answered none of the request's range frames and carried no records.
 * An honest server answers at least one range frame of every request; one that never does
 * would keep the client resending the same frames until the round cap.
 */
const MAX_STALLED = 3
/**
 * Rounds in a row that moved no new record either way. An honest descent narrows the differing
 * ranges at least 16-fold a round, so it reaches records within a handful of rounds (about 7 from
 * a billion records down to 16), plus a round per 16,384 ranges queued at one level. A server
 * that keeps answering with new differences (fingerprints that never match, counts it does not
 * hold, ids it never sends) would otherwise keep the client going until the round cap: 100,000
 * rounds, hours of work.
 */
export const MAX_IDLE_ROUNDS = 128

export async function runSync(deps: ReceiveDeps, transport: Transport, opts: SyncOptions): Promise<SyncSummary> {
  const started = Date.now()
  const {store} = deps
  const pulls = opts.mode !== 'push'
  const pushes = opts.mode !== 'pull'
  const receiver = new Receiver(deps, {threads: opts.threads})
  const p: SyncProgress = {rounds: 0, ranges: 0, received: 0, sent: 0, rejected: 0, bytesOut: 0, bytesIn: 0}
  const s: SyncSummary = {
    ...p,
    remote: transport.remote,
    mode: opts.mode,
    local: {added: 0, present: 0, rejected: 0},
    remoteResult: {added: 0, present: 0, rejected: 0},
    recordBytesIn: 0,
    recordBytesOut: 0,
    errors: [],
    localRoot: {count: 0, fingerprint: ''},
    ms: 0,
  }
  // Ids to ask for, with the range the server listed each in when known (offered ids have none).
  const want = new Map<string, Range | undefined>()
  const push = new Set<string>()
  // The server's capabilities, from its first response.
  let serverCaps: readonly string[] = []
  // The ranges of the ids the last request asked for.
  const asked = new Map<string, Range | undefined>()
  // Ids rejected in this run, here and by the remote: never asked for or sent again in a later
  // pass (the same record would only be rejected again, and counted again).
  const refusedHere = new Set<string>()
  const refusedThere = new Set<string>()
  // This pass: ids found missing on either side that are worth moving, and ids passed over
  // because they were rejected. A pass that found only rejected ones ends the sync even when the
  // stores are not in step: another would find the same.
  let fresh = 0
  let skipped = 0
  const wantId = (id: string, r: Range | undefined) => {
    if (refusedHere.has(id)) skipped++
    else {
      if (!want.has(id)) fresh++
      want.set(id, r)
    }
  }
  const pushId = (id: string) => {
    if (refusedThere.has(id)) skipped++
    else {
      fresh++
      push.add(id)
    }
  }
  // The connection (and, over SSH, the remote steme's start) overlaps reading our own view.
  transport.connect?.()
  let view = await LocalView.load(store)
  let pending: Frame[] = await opening(view)
  let remoteRoot: {count: number; fingerprint: string} | undefined
  let passes = 1
  let more = false
  // Records stored on either side before this pass.
  let movedBefore = 0
  // Received batches being verified and stored, oldest first (at most BATCHES_IN_FLIGHT).
  let inflight: Promise<void>[] = []
  const settle = async () => {
    while (inflight.length) await inflight.shift()
  }
  let stalled = 0
  let idle = 0
  // Records that moved: stored here or there, or rejected for the first time in this run.
  let moved = 0
  let movedSeen = 0
  let linesIn = 0
  try {
    for (;;) {
      const hello: Hello = {proto: PROTOCOL, v: VERSION, caps: CAPS, mode: opts.mode, max: SOFT_MESSAGE, top: view.top}
      // At most RANGES_PER_REQUEST range frames per request; the rest wait for the next one.
      const sent = pending.slice(0, RANGES_PER_REQUEST)
      pending = pending.slice(RANGES_PER_REQUEST)
      const frames: Frame[] = [{t: T.Hello, hello}, ...sent]
      if (want.size) {
        // Ask for about what one response carries (SOFT_MESSAGE of records, sized by the records
        // seen so far): asking for more only has the rest offered back, 32 bytes each way per id.
        const avg = linesIn ? s.recordBytesIn / linesIn : 400
        const fits = Math.ceil((SOFT_MESSAGE / Math.max(64, avg)) * 1.1)
        // What does not fit in the response comes back offered: `asked` keeps each id's range for then.
        asked.clear()
        frames.push(...needFrames(want, Math.min(WANT_PER_MESSAGE, Math.max(256, fits)), serverCaps.includes(NEED_SPAN), asked))
      }
      let budget = SOFT_MESSAGE - encodedSize(frames)
      // The ids of the records in this request, for the remote's ACK.
      const pushedNow: string[] = []
      while (push.size && budget > 0) {
        const ids = [...push].slice(0, 512)
        for (const id of ids) push.delete(id)
        pushedNow.push(...ids)
        for (const line of await storedLines(store, ids)) {
          frames.push({t: T.Record, line})
          budget -= recordFrameSize(line)
          s.recordBytesOut += line.length
          p.sent++
        }
      }
      if (frames.length === 1) {
        await settle()
        view = await LocalView.load(store)
        // Another pass from the top when the server said it held back, or when a full sync did
        // not end in step (records written meanwhile on either side).
        const inStep = opts.mode !== 'sync' || !remoteRoot || remoteRoot.fingerprint === (await rootFingerprint(view)).fingerprint
        const onlyRefused = skipped > 0 && fresh === 0
        // A server holds back what one response cannot offer (about 200k ids), so a large store
        // takes a pass per 200k records: those passes go on for as long as each moves records,
        // however many it takes. The cap is for stores written meanwhile, which may never settle.
        const moved = s.local.added + s.remoteResult.added
        const heldBack = more && moved > movedBefore
        if (heldBack || ((more || (!inStep && !onlyRefused)) && passes < MAX_PASSES)) {
          passes++
          more = false
          fresh = 0
          skipped = 0
          movedBefore = moved
          pending = await opening(view)
          continue
        }
        break
      }
      // Records that moved since the last round (received ones count once their batch is verified,
      // a round or two later). Records sent again that one side already holds, or rejected again,
      // are no progress: a server can have the client send or receive the same ones every round.
      idle = moved > movedSeen ? 0 : idle + 1
      movedSeen = moved
      if (idle > MAX_IDLE_ROUNDS) {
        await settle()
        throw idleError(transport.remote, MAX_IDLE_ROUNDS, pulls ? s.local.added : undefined)
      }
      if (p.rounds >= (opts.maxRounds ?? 100_000)) throw new BugError(`sync with ${transport.remote} did not settle after ${p.rounds} rounds`)
      const req = encode(frames)
      // Records put in this request count as sent now: an interruption while it is on its way
      // (the remote may have stored them already) then says so.
      if (pushedNow.length) opts.onProgress?.({...p})
      const res = await requestWithRetry(transport, req, opts.retry ?? DEFAULT_RETRY)
      p.rounds++
      p.bytesOut += req.length
      p.bytesIn += res.length
      let got: Frame[]
      // Records stay bytes on this thread: laid out as NDJSON chunks for the verify workers.
      const recs = new RecordChunks()
      try {
        got = decode(res, (line) => recs.add(line))
      } catch (e) {
        if (e instanceof WireError) throw new UserError(`${transport.remote} sent a bad message: ${e.message}`, {code: 'remote', exit: 1, hint: e.hint, cause: e})
        throw e
      }
      const head = got[0]
      if (head?.t === T.Error) throw remoteError(transport.remote, head.code, head.message)
      if (!head || head.t !== T.Hello || head.hello.proto !== PROTOCOL) throw new UserError(`${transport.remote} did not answer with a ${PROTOCOL} hello`, {code: 'remote', exit: 1, hint: 'check that the remote runs `steme sync-serve` (or `steme serve`)'})
      if (head.hello.v !== VERSION) throw versionError(transport.remote, head.hello.v)
      serverCaps = head.hello.caps
      if (head.hello.root !== undefined && head.hello.records !== undefined) remoteRoot = {count: head.hello.records, fingerprint: head.hello.root}
      if (head.hello.more) more = true
      p.ranges += head.hello.compared ?? 0
      // Frames the server had no room to answer go out again.
      if (head.hello.handled !== undefined) pending = [...sent.slice(head.hello.handled), ...pending]
      if (sent.length && head.hello.handled === 0 && recs.records === 0) {
        if (++stalled >= MAX_STALLED) throw stallError(transport.remote, stalled, sent.length)
      } else stalled = 0
      linesIn += recs.records
      s.recordBytesIn += recs.recordBytes
      for (const f of got) {
        // Offered ids were counted fresh when first found; only a rejected one is passed over.
        if (f.t === T.Offer && pulls) {
          for (const id of f.ids) if (!refusedHere.has(id)) want.set(id, want.get(id) ?? asked.get(id))
        } else if (f.t === T.Need && pushes) for (const id of f.ids) pushId(id)
        else if (f.t === T.Ack) {
          s.remoteResult.added += f.added
          s.remoteResult.present += f.present
          s.remoteResult.rejected += f.rejected
          moved += f.added + f.rejected
          for (const e of f.errors) if (s.errors.length < 100) s.errors.push({where: 'remote', ...e})
          if (f.rejected) {
            // The remote names rejected records by id, up to a bound; when it did not name them
            // all, none of this request's records go again (those it stored it does not lack).
            const named = f.errors.filter((e) => e.id !== undefined).map((e) => e.id!)
            for (const id of named.length >= f.rejected ? named : pushedNow) refusedThere.add(id)
          }
        } else if (f.t === T.Error) throw remoteError(transport.remote, f.code, f.message)
      }
      if (recs.records && !pulls) throw new UserError(`${transport.remote} sent records during a push`, {code: 'remote', exit: 1})
      // Verify and commit this batch while the next requests go out: up to BATCHES_IN_FLIGHT
      // batches at a time (so the workers always hold the next one and never wait for this
      // thread to read the next response), committed in order. The view below may not hold
      // them yet; that can only make us ask for a record twice (stored once), never miss one.
      if (recs.refused) {
        p.rejected += recs.refused
        s.local.rejected += recs.refused
        if (s.errors.length < 100) s.errors.push({where: 'local', reason: `${recs.refused} record frame(s) held a line break`})
      }
      const texts = recs.take()
      if (recs.records) {
        const n = recs.records
        while (inflight.length >= BATCHES_IN_FLIGHT) await inflight.shift()
        const batch = receiver.takeText(texts).then((r) => {
          // A record rejected earlier in this run that the remote sent again unasked (its own
          // comparison found it missing here) counts once, as received and rejected then.
          const again = new Set<string>()
          for (const id of r.rejectedIds) (refusedHere.has(id) ? again : refusedHere).add(id)
          skipped += again.size
          if (r.added) fresh += r.added
          moved += r.added + r.rejected - again.size
          p.received += n - again.size
          p.rejected += r.rejected - again.size
          s.local.added += r.added
          s.local.present += r.present
          s.local.rejected += r.rejected - again.size
          for (const e of r.errors) if (s.errors.length < 100 && !(e.id && again.has(e.id))) s.errors.push({where: 'local', ...e})
        })
        batch.catch(() => undefined)
        inflight.push(batch)
      }
      // The bucket table is read once per pass (hundreds of ms on a large store); records that
      // arrived since are only missing from it, which can make us ask for one twice, never miss
      // one. Ids are read fresh every round.
      view.forgetIds()
      const out = await respond(view, got, newOutcome())
      p.ranges += out.compared
      pending = [...pending, ...out.reply]
      if (pulls) for (let i = 0; i < out.iLack.length; i++) wantId(out.iLack[i], out.iLackIn[i])
      // Records are on their way: have the verify workers ready for them.
      if (want.size) receiver.warm()
      if (pushes) for (const id of out.peerLacks) pushId(id)
      opts.onProgress?.({...p})
    }
  } catch (e) {
    // A transport that gave out: say how many records this run stored (every batch that arrived
    // is committed first), so the rerun's promise to continue has a number.
    if (e instanceof TransportError) {
      await Promise.all(inflight.map((b) => b.catch(() => undefined)))
      throw e.keeping({here: pulls ? s.local.added : undefined, there: pushes ? s.remoteResult.added : undefined})
    }
    throw e
  } finally {
    await Promise.all(inflight.map((b) => b.catch(() => undefined)))
    await receiver.close()
  }
  // The loop only ends (without an error) right after reloading the view with every batch
  // committed: that view is the store as it ends.
  s.localRoot = await rootFingerprint(view)
  s.remoteRoot = remoteRoot
  Object.assign(s, p)
  s.ms = Date.now() - started
  return s
}

/**
 * Up to `max` wanted ids as NEED frames, taken out of `want` in the order they came. With a
 * server that reads records by bucket span (`need-span`), the ids whose range is known go in
 * one NEED_IN over the buckets of all their ranges: the server may then read that stretch of
 * its store instead of looking each id up (about half the cost on a large store). Ids without
 * a range go by NEED. `asked` gets the range of every id taken.
 */
export function needFrames(want: Map<string, Range | undefined>, max: number, spans: boolean, asked?: Map<string, Range | undefined>): Frame[] {
  const plain: string[] = []
  const spanned: string[] = []
  let a = Infinity
  let b = -1
  for (const [id, r] of want) {
    if (plain.length + spanned.length >= max) break
    want.delete(id)
    asked?.set(id, r)
    if (!spans || r === undefined) plain.push(id)
    else {
      spanned.push(id)
      if (r.a < a) a = r.a
      if (r.b > b) b = r.b
    }
  }
  const out: Frame[] = []
  if (spanned.length) out.push({t: T.NeedIn, a, b, ids: spanned})
  if (plain.length) out.push({t: T.Need, ids: plain})
  return out
}

function stallError(remote: string, rounds: number, ranges: number): UserError {
  return new UserError(`${remote} answered ${rounds} requests in a row without handling any of their range frames (${ranges} in the last): the sync made no progress`, {
    code: 'remote',
    exit: 1,
    hint: 'the remote steme sync server is broken or not steme; upgrade or restart it, then sync again (records already received are kept)',
  })
}

function idleError(remote: string, rounds: number, kept: number | undefined): UserError {
  return new UserError(`${remote} went on answering with differences for ${rounds} rounds in a row without a record moving either way: the sync made no progress`, {
    code: 'remote',
    exit: 1,
    hint: `the remote is broken or not an honest steme sync server; check it runs \`steme sync-serve\` or \`steme serve\` of this version${kept === undefined ? '' : `; the ${kept} record(s) this run received were verified and are kept`}`,
  })
}

function versionError(remote: string, v: unknown): UserError {
  return new UserError(`${remote} speaks ${PROTOCOL} version ${String(v)}, this steme speaks version ${VERSION}`, {
    code: 'remote',
    exit: 1,
    hint: 'install the same steme version on both sides',
  })
}

function remoteError(remote: string, code: string, message: string): UserError {
  if (code === 'version') return new UserError(`${remote}: ${message}`, {code: 'remote', exit: 1, hint: 'install the same steme version on both sides'})
  if (code === 'forbidden') return new UserError(`${remote} refused: ${message}`, {code: 'forbidden', exit: 1, hint: 'pull instead, or ask the remote owner for write access'})
  // The remote's store: missing, busy or damaged (an older server says `internal` for damage).
  const store = code === 'integrity' || code === 'locked' || code === 'no_store' ? code : code === 'internal' ? remoteStoreCode(message.replace(/^the remote failed: /, '')) : undefined
  if (store) return remoteStoreError(remote, new UserError(message.replace(/^the remote failed: /, ''), {code: store, exit: 1}))!
  return new UserError(`${remote} answered with an error (${code}): ${message}`, {code: 'remote', exit: 1})
}
