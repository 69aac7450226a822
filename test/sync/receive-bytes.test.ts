/** The client hands received records to verification as bytes: every frame is one record, verified, counted. */
import {expect, it} from 'vitest'
import type {Transport} from '../../src/core/transport.js'
import {MemoryStore} from '../../src/adapters/memory.js'
import {recordLine} from '../../src/core/seal.js'
import {runSync} from '../../src/sync/client.js'
import {T, encode} from '../../src/sync/wire.js'
import {makeRecords, receiveDeps} from './helpers.js'

const recordFrame = (bytes: Uint8Array) => {
  expect(bytes.length).toBeLessThan(0x4000)
  return Buffer.concat([Buffer.from([T.Record, (bytes.length & 0x7f) | 0x80, bytes.length >> 7]), bytes])
}

it('stores the good records of a response and refuses a non-UTF-8 frame and a frame holding two lines, each as one record', async () => {
  const recs = await makeRecords(6, {tag: 'bytes'})
  const line = (i: number) => Buffer.from(recordLine(recs[i].canonical, recs[i].record.id, recs[i].record.sig))
  // Record 3 with one byte of its subject made invalid UTF-8; records 4 and 5 in one frame.
  const broken = line(3)
  broken[broken.indexOf('s:bytes')] = 0xff
  const reply = Buffer.concat([
    encode([{t: T.Hello, hello: {proto: 'steme-sync', v: 1, caps: [], records: 6, root: '00'.repeat(16)}}]),
    recordFrame(line(0)),
    recordFrame(line(1)),
    recordFrame(broken),
    recordFrame(Buffer.concat([line(4), Buffer.from('\n'), line(5)])),
    recordFrame(line(2)),
  ])
  let calls = 0
  const t: Transport = {remote: 'peer', request: async () => (calls++ === 0 ? reply : encode([{t: T.Hello, hello: {proto: 'steme-sync', v: 1, caps: []}}])), close: async () => {}}
  const local = new MemoryStore()
  const s = await runSync(receiveDeps(local), t, {mode: 'pull', threads: 0})
  expect(s.received).toBe(5)
  expect(s.local.added).toBe(3)
  expect(s.local.rejected).toBe(2)
  expect(s.rejected).toBe(2)
  expect(s.recordBytesIn).toBe(line(0).length + line(1).length + line(2).length + broken.length + line(4).length + 1 + line(5).length)
  expect((await local.get(recs.map((r) => r.record.id))).map((r) => r.record.id).sort()).toEqual([0, 1, 2].map((i) => recs[i].record.id).sort())
})
