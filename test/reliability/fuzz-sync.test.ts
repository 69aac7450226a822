/**
 * Fuzzing the sync protocol: generated malformed and hostile requests against the server side,
 * malformed answers against the client side, and garbage streams through the framing layer.
 * Zero crashes (no uncaught exception, no internal error, no hang), zero invalid records stored,
 * every error a clean message.
 */
import {Readable, Writable} from 'node:stream'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {UserError} from '../../src/core/errors.js'
import {checkRecord, recordLine, type Sealed} from '../../src/core/seal.js'
import type {Store} from '../../src/core/store.js'
import type {Transport} from '../../src/core/transport.js'
import {runSync} from '../../src/sync/client.js'
import {FramingError, MessageReader, PREAMBLE, frameMessage} from '../../src/sync/framing.js'
import {IdList} from '../../src/sync/ids.js'
import {createSyncHandler, type SyncHandler} from '../../src/sync/server.js'
import {serveStreams} from '../../src/sync/stdio-server.js'
import {MAX_MESSAGE, PROTOCOL, T, VERSION, Writer, decode, encode, type Frame} from '../../src/sync/wire.js'
import {fc} from '../helpers/fc.js'
import {FULL, report} from '../helpers/report.js'
import {tamperVariants} from '../helpers/tamper.js'
import {makeRecords, memoryWith, receiveDeps} from '../sync/helpers.js'

const SERVER_INPUTS = FULL ? 50_000 : 10_000
const CLIENT_INPUTS = FULL ? 10_000 : 1_000
const FRAMING_INPUTS = FULL ? 20_000 : 2_000
const HANG_MS = 10_000

let pool: Sealed[]
let lines: string[]
let requests: Uint8Array[]
let responses: Uint8Array[]
const figures = {inputs: 0, crashes: 0, invalidStored: 0}
afterAll(() => report({suite: 'fuzz sync protocol', inputs: figures.inputs, invalidStored: figures.invalidStored, crashes: figures.crashes, lost: 0}))

beforeAll(async () => {
  pool = await makeRecords(400, {tag: 'fuzz'})
  lines = pool.map((s) => recordLine(s.canonical, s.record.id, s.record.sig))
  // Real traffic to mutate: the requests and answers of a sync between two overlapping stores
  // (a few dozen records apart, so a fuzz case costs few signature checks).
  requests = []
  responses = []
  const handler = createSyncHandler(receiveDeps(await memoryWith(pool.slice(10, 140))))
  const recording: Transport = {
    remote: 'rec',
    request: async (m) => {
      requests.push(Uint8Array.from(m))
      const r = await handler.handle(m)
      responses.push(Uint8Array.from(r))
      return r
    },
    close: async () => {},
  }
  await runSync(receiveDeps(await memoryWith(pool.slice(0, 120))), recording, {mode: 'sync', threads: 0})
  expect(requests.length).toBeGreaterThan(0)
})

/**
 * Every record a store holds must pass the checks a received record passes. A record byte-equal
 * to a pool record is known good; anything else is checked in full (signatures are the cost).
 */
async function invalidIn(store: Store): Promise<number> {
  const known = new Map(pool.map((s) => [s.record.id, recordLine(s.canonical, s.record.id, s.record.sig)]))
  let bad = 0
  for await (const batch of store.scan({batch: 1000}))
    for (const s of batch) {
      const line = recordLine(s.canonical, s.record.id, s.record.sig)
      if (known.get(s.record.id) === line) continue
      try {
        checkRecord(JSON.parse(line), {nowMs: Date.now(), skewMs: 60_000})
      } catch {
        bad++
      }
    }
  return bad
}

const withTimeout = <T>(p: Promise<T>, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`hang: ${what} did not finish in ${HANG_MS} ms`)), HANG_MS)
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    )
  })

// --- generators -----------------------------------------------------------------------------

const hex64 = fc.string({unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64})
const id = fc.oneof(hex64, fc.constantFrom(...Array.from({length: 8}, (_, i) => i)).map((i) => pool[i * 50].record.id))
const range = fc.oneof(
  fc.record({a: fc.nat(2 ** 44 - 1), b: fc.constant(0), bits: fc.constant(0), prefix: fc.constant(0)}).map((r) => ({...r, b: r.a + 0})),
  fc.tuple(fc.nat(2 ** 44 - 1), fc.nat(2 ** 44 - 1)).map(([x, y]) => ({a: Math.min(x, y), b: Math.max(x, y), bits: 0, prefix: 0})),
  fc.tuple(fc.nat(2 ** 44 - 1), fc.integer({min: 1, max: 12})).chain(([a, k]) => fc.nat(2 ** (4 * k) - 1).map((prefix) => ({a, b: a, bits: 4 * k, prefix}))),
)
/** A hello whose every known field may hold any JSON value, or be missing. */
const hostileHello = fc
  .record(
    {
      proto: fc.oneof(fc.constant(PROTOCOL), fc.jsonValue()),
      v: fc.oneof(fc.constant(VERSION), fc.jsonValue()),
      caps: fc.oneof(fc.constant([]), fc.jsonValue()),
      mode: fc.oneof(fc.constantFrom('pull', 'push', 'sync'), fc.jsonValue()),
      max: fc.jsonValue(),
      top: fc.oneof(fc.integer(), fc.jsonValue()),
      records: fc.jsonValue(),
      root: fc.oneof(fc.string(), fc.jsonValue()),
      more: fc.jsonValue(),
      handled: fc.oneof(fc.integer(), fc.jsonValue()),
      compared: fc.jsonValue(),
    },
    {requiredKeys: []},
  )
  .map((h) => h as never)
// Valid lines are rarer than broken ones: each costs a signature check wherever it lands.
const recordLineArb = fc.oneof(
  {arbitrary: fc.constantFrom(...Array.from({length: 20}, (_, i) => i)).map((i) => lines[i * 20]), weight: 1},
  {arbitrary: fc.constantFrom(...Array.from({length: 6}, (_, i) => i)).chain((i) => fc.constantFrom(...tamperVariants(pool[i * 60]).map((v) => JSON.stringify(v.record)))), weight: 2},
  {arbitrary: fc.string({maxLength: 60}), weight: 2},
  {arbitrary: fc.jsonValue({maxDepth: 3}).map((v) => JSON.stringify(v) ?? 'null'), weight: 2},
)
const frame: fc.Arbitrary<Frame> = fc
  .oneof(
  hostileHello.map((hello) => ({t: T.Hello, hello})),
  fc.record({code: fc.string({maxLength: 10}), message: fc.string({maxLength: 30})}).map((e) => ({t: T.Error, ...e})),
  fc.tuple(range, fc.nat(100_000), fc.uint8Array({minLength: 16, maxLength: 16})).map(([r, count, hash]) => ({t: T.Fp, range: r, count, hash})),
  fc.tuple(range, fc.array(id, {maxLength: 20})).map(([r, ids]) => ({t: T.Ids, range: r, ids: IdList.fromHex(ids)})),
  fc.array(id, {maxLength: 20}).map((ids) => ({t: T.Need, ids})),
  fc.array(id, {maxLength: 20}).map((ids) => ({t: T.Offer, ids})),
  recordLineArb.map((line) => ({t: T.Record, line})),
  fc.record({added: fc.nat(), present: fc.nat(), rejected: fc.nat()}).map((a) => ({t: T.Ack, ...a, errors: []})),
  )
  .map((f) => f as Frame)

/** Raw frames: any type byte, a length that may lie, any body. */
const rawFrame = fc.tuple(fc.oneof(fc.constantFrom(...Object.values(T).filter((v): v is number => typeof v === 'number')), fc.nat(255)), fc.uint8Array({maxLength: 80}), fc.integer({min: -3, max: 3})).map(([t, body, lie]) => {
  const w = new Writer()
  w.byte(t)
  w.varint(Math.max(0, body.length + lie))
  w.bytes(body)
  return w.done().slice()
})

const concat = (parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts))

/** Bit flips, truncations, insertions, deletions and splices of a real message. */
const mutate = (sources: () => Uint8Array[]) =>
  fc.tuple(fc.nat(), fc.array(fc.tuple(fc.nat(3), fc.nat(), fc.nat(255)), {minLength: 1, maxLength: 6}), fc.nat()).map(([pick, edits, other]) => {
    const src = sources()
    let b = Buffer.from(src[pick % src.length])
    for (const [op, pos, v] of edits) {
      const i = b.length ? pos % b.length : 0
      if (op === 0 && b.length) b[i] ^= 1 << (v % 8)
      else if (op === 1) b = b.subarray(0, i)
      else if (op === 2) b = Buffer.concat([b.subarray(0, i), Buffer.from([v]), b.subarray(i)])
      else b = Buffer.concat([b.subarray(0, i), Buffer.from(src[other % src.length]).subarray(i)])
    }
    return Uint8Array.from(b)
  })

const request = fc.oneof(
  fc.uint8Array({maxLength: 200}),
  fc.array(rawFrame, {maxLength: 6}).map(concat),
  fc.tuple(hostileHello, fc.array(frame, {maxLength: 8})).map(([hello, rest]) => encode([{t: T.Hello, hello}, ...rest])),
  fc.array(frame, {maxLength: 8}).map((rest) => encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: [], mode: 'push'}}, ...rest])),
  mutate(() => requests),
)

// --- the server side ------------------------------------------------------------------------

const CLEAN_CODES = new Set(['malformed', 'version', 'too_large', 'forbidden'])

describe('fuzzing the server side', () => {
  let store: MemoryStore
  let handler: SyncHandler
  beforeAll(async () => {
    store = await memoryWith(pool.slice(0, 200))
    handler = createSyncHandler(receiveDeps(store))
  })

  it(`${SERVER_INPUTS.toLocaleString('en-US')} generated requests: an answer every time, errors clean, nothing invalid stored`, async () => {
    const crashes: string[] = []
    let errors = 0
    await fc.assert(
      fc.asyncProperty(request, async (msg) => {
        figures.inputs++
        let frames: Frame[]
        try {
          frames = decode(await withTimeout(handler.handle(msg), 'handle'))
        } catch (e) {
          crashes.push(`${(e as Error).message} for ${Buffer.from(msg).toString('hex').slice(0, 200)}`)
          return
        }
        const head = frames[0]
        if (head?.t === T.Error) {
          errors++
          if (!CLEAN_CODES.has(head.code) || head.message.length === 0 || /TypeError|undefined|is not a function|Cannot read/.test(head.message)) crashes.push(`unclean error ${head.code}: ${head.message} for ${Buffer.from(msg).toString('hex').slice(0, 200)}`)
        } else if (head?.t !== T.Hello) crashes.push(`answer without a hello for ${Buffer.from(msg).toString('hex').slice(0, 200)}`)
      }),
      {numRuns: SERVER_INPUTS},
    )
    figures.crashes += crashes.length
    expect(crashes.slice(0, 5)).toEqual([])
    // The generators reach both refusals and real answers.
    expect(errors).toBeGreaterThan(SERVER_INPUTS / 10)
    expect(errors).toBeLessThan(SERVER_INPUTS)
    const bad = await invalidIn(store)
    figures.invalidStored += bad
    expect(bad).toBe(0)
  }, 600_000)

  it('hellos with fields of the wrong type are refused as malformed, naming the field', async () => {
    const base = {proto: PROTOCOL, v: VERSION, caps: [] as string[]}
    for (const [field, value] of [
      ['v', '1'],
      ['v', null],
      ['caps', 5],
      ['caps', [1]],
      ['mode', 'steal'],
      ['top', 'x'],
      ['handled', -1],
      ['root', 7],
      ['more', 'yes'],
    ] as const) {
      const [head] = decode(await handler.handle(encode([{t: T.Hello, hello: {...base, [field]: value} as never}])))
      expect(head, `${field}=${JSON.stringify(value)}`).toMatchObject({t: T.Error, code: 'malformed'})
      expect((head as {message: string}).message).toContain(`hello field "${field}"`)
    }
    const [arr] = decode(await handler.handle(Uint8Array.from([T.Hello, 2, 0x5b, 0x5d])))
    expect(arr).toMatchObject({t: T.Error, code: 'malformed'})
  })
})

// --- the client side ------------------------------------------------------------------------

describe('fuzzing the client side', () => {
  it(`${CLIENT_INPUTS.toLocaleString('en-US')} malformed answers: the client fails cleanly naming the remote, or finishes; nothing invalid stored`, async () => {
    const remoteStore = await memoryWith(pool.slice(10, 140))
    const server = createSyncHandler(receiveDeps(remoteStore))
    const crashes: string[] = []
    let clean = 0
    // Answers are generated outright, or the real server's answer mutated, for the first few requests.
    const answer = fc.oneof(
      fc.uint8Array({maxLength: 200}),
      fc.array(rawFrame, {maxLength: 6}).map(concat),
      fc.tuple(hostileHello, fc.array(frame, {maxLength: 8})).map(([hello, rest]) => encode([{t: T.Hello, hello}, ...rest])),
      fc.array(frame, {maxLength: 8}).map((rest) => encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: []}}, ...rest])),
      mutate(() => responses),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(answer, {nil: undefined}), {minLength: 1, maxLength: 3}), fc.constantFrom('pull' as const, 'push' as const, 'sync' as const), async (answers, mode) => {
        figures.inputs++
        const local = await memoryWith(pool.slice(0, 135))
        let n = 0
        const t: Transport = {
          remote: 'fuzzed (ssh://peer/store)',
          request: async (m) => {
            const a = answers[n++]
            return a ?? server.handle(m)
          },
          close: async () => {},
        }
        try {
          await withTimeout(runSync(receiveDeps(local), t, {mode, threads: 0, retry: {retries: 0, baseMs: 1, maxMs: 1}, maxRounds: 500}), 'runSync')
        } catch (e) {
          if (e instanceof UserError && e.message.includes('fuzzed (ssh://peer/store)') && !/TypeError|undefined|Cannot read/.test(e.message)) clean++
          else crashes.push(`${(e as Error)?.stack ?? e}`)
        }
        const bad = await invalidIn(local)
        figures.invalidStored += bad
        if (bad) crashes.push(`${bad} invalid records stored`)
      }),
      {numRuns: CLIENT_INPUTS},
    )
    figures.crashes += crashes.length
    expect(crashes.slice(0, 5)).toEqual([])
    expect(clean).toBeGreaterThan(CLIENT_INPUTS / 10)
    expect(await invalidIn(remoteStore)).toBe(0)
  }, 600_000)
})

// --- the framing layer ----------------------------------------------------------------------

describe('fuzzing the stream framing', () => {
  it(`${FRAMING_INPUTS.toLocaleString('en-US')} streams: any chunking yields the same messages; garbage is a FramingError`, () => {
    let crashes = 0
    fc.assert(
      fc.property(fc.array(fc.uint8Array({maxLength: 300}), {maxLength: 6}), fc.array(fc.nat(400), {maxLength: 20}), fc.boolean(), fc.option(fc.uint8Array({minLength: 1, maxLength: 40}), {nil: undefined}), (msgs, cuts, preamble, junk) => {
        figures.inputs++
        const stream = Buffer.concat([...(preamble ? [Buffer.from(PREAMBLE)] : []), ...(junk ? [Buffer.from(junk)] : []), ...msgs.map(frameMessage)])
        const reader = new MessageReader(preamble)
        const got: Uint8Array[] = []
        let at = 0
        try {
          for (const c of [...cuts, stream.length]) {
            const end = Math.min(stream.length, at + c)
            got.push(...reader.push(stream.subarray(at, end)))
            at = end
          }
          got.push(...reader.push(stream.subarray(at)))
        } catch (e) {
          if (!(e instanceof FramingError)) crashes++
          expect(junk, 'only garbage may fail').toBeDefined()
          return
        }
        if (!junk) {
          expect(got.map((m) => Buffer.from(m).toString('hex'))).toEqual(msgs.map((m) => Buffer.from(m).toString('hex')))
          expect(reader.buffered).toBe(0)
        }
      }),
      {numRuns: FRAMING_INPUTS},
    )
    figures.crashes += crashes
    expect(crashes).toBe(0)
  })

  it('a large message in small chunks is copied once, not once per chunk', () => {
    const spy = vi.spyOn(Buffer, 'concat')
    try {
      const msg = new Uint8Array(MAX_MESSAGE / 4).fill(7)
      const stream = Buffer.concat([Buffer.from(PREAMBLE), frameMessage(msg)])
      spy.mockClear()
      const reader = new MessageReader(true)
      const out: Uint8Array[] = []
      for (let i = 0; i < stream.length; i += 1000) out.push(...reader.push(stream.subarray(i, i + 1000)))
      expect(out).toHaveLength(1)
      expect(out[0].length).toBe(msg.length)
      const copied = spy.mock.results.reduce((n, r) => n + (r.value as Buffer).length, 0)
      expect(copied).toBeLessThan(64 * 1024)
    } finally {
      spy.mockRestore()
    }
  })

  it('sync-serve over streams: garbage input ends with a clean framing error, valid requests are answered', async () => {
    const handler = createSyncHandler(receiveDeps(new MemoryStore()))
    const sink = () => {
      const parts: Buffer[] = []
      return {parts, w: new Writable({write: (c, _e, cb) => (parts.push(Buffer.from(c)), cb())})}
    }
    const good = sink()
    const hello = encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: [], mode: 'pull'}}])
    expect(await serveStreams(handler, Readable.from([frameMessage(hello).subarray(0, 3), frameMessage(hello).subarray(3)]), good.w)).toEqual({requests: 1})
    const reader = new MessageReader(true)
    expect(decode(reader.push(Buffer.concat(good.parts))[0])[0].t).toBe(T.Hello)
    const huge = Buffer.alloc(8)
    huge.writeUInt32BE(MAX_MESSAGE + 1)
    // Refused as the peer's fault (a UserError, exit 1), with ERROR too_large sent back first.
    const refused = sink()
    await expect(serveStreams(handler, Readable.from([huge]), refused.w)).rejects.toMatchObject({code: 'too_large', exit: 1, message: expect.stringMatching(/^sync-serve: the peer announced a message of \d+ bytes, over the bound/)})
    expect(decode(new MessageReader(true).push(Buffer.concat(refused.parts))[0])).toMatchObject([{t: T.Error, code: 'too_large'}])
  })
})
