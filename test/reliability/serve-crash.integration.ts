/** kill -9 of a real `steme serve` during batched writes: every acknowledged record is in the store after restart, and fsck passes. */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DuckDBStore} from '../../src/adapters/duckdb/index.js'
import {initHash} from '../../src/core/hash.js'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'
import {assertion, testKey} from '../helpers/records.js'
import {FULL, report} from '../helpers/report.js'
import {ndjson} from '../serve/harness.js'

const KILLS = FULL ? 20 : 3
const BATCH = FULL ? 300 : 200
const BATCHES = FULL ? 40 : 6

let sb: Sandbox
let token: string
beforeAll(async () => {
  await initHash()
  sb = sandbox('steme-serve-crash-')
  expect(sb.run(['init']).code).toBe(0)
  token = sb.run(['serve', 'token', 'create', '--role', 'write']).stdout.trim()
  expect(token).toMatch(/^stm_/)
})
afterAll(() => sb.cleanup())

async function startDaemon(): Promise<{proc: ChildProcess; url: string; exited: Promise<unknown>}> {
  const state = join(sb.dir, '.steme', 'state', 'serve.json')
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--rate-limit', '0', '--log-level', 'warn'], {cwd: sb.dir, env: sb.env, stdio: ['ignore', 'ignore', 'pipe']})
  let log = ''
  proc.stderr!.on('data', (d) => (log += d))
  const exited = new Promise((r) => proc.on('exit', r))
  // After a kill -9 the previous daemon's state file is still there: wait for this daemon's pid in it.
  const ours = () => existsSync(state) && JSON.parse(readFileSync(state, 'utf8')).pid === proc.pid
  for (let i = 0; i < 600 && !ours(); i++) await new Promise((r) => setTimeout(r, 50))
  if (!ours()) throw new Error(`daemon did not start: ${log}`)
  return {proc, url: JSON.parse(readFileSync(state, 'utf8')).url, exited}
}

describe('kill -9 of steme serve during batched writes', () => {
  it(`${KILLS} kills at random points: every acknowledged record survives, fsck passes`, {timeout: FULL ? 1_800_000 : 180_000}, async () => {
    const key = testKey(11)
    const acked = new Set<string>()
    let lost = 0
    let sentTotal = 0
    for (let round = 0; round < KILLS; round++) {
      const d = await startDaemon()
      const batches = Array.from({length: BATCHES}, (_, b) => Array.from({length: BATCH}, (_, i) => assertion({subject: `crash:${round}:${b}`, predicate: 'i', value: i}, key)))
      let next = 0
      let killed = false
      // Kill after a random number of acknowledged batches (so writes are in flight), at a random moment.
      const killAfter = 1 + Math.floor(Math.random() * (BATCHES / 2))
      let ackedBatches = 0
      const writer = async () => {
        while (next < batches.length && !killed) {
          const batch = batches[next++]
          sentTotal += batch.length
          try {
            const res = await fetch(`${d.url}/v1/records?detail=ids`, {method: 'POST', headers: {authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson'}, body: ndjson(batch)})
            if (res.status !== 200) continue
            const body = await res.json()
            expect(body.rejected).toBe(0)
            for (const id of [...body.ids.added, ...body.ids.present]) acked.add(id)
            if (++ackedBatches === killAfter) setTimeout(() => ((killed = true), d.proc.kill('SIGKILL')), Math.random() * 200)
          } catch {
            // reset or refused: the daemon died mid-request, nothing acknowledged
          }
        }
      }
      await Promise.all([writer(), writer(), writer()])
      if (!killed) d.proc.kill('SIGKILL')
      await d.exited
      const fsck = sb.run(['fsck', '--json'])
      expect(fsck.code, `round ${round}: ${fsck.stderr}`).toBe(0)
      expect(JSON.parse(fsck.stdout).bad).toEqual([])
      const store = await DuckDBStore.open(join(sb.dir, '.steme', 'store.duckdb'))
      try {
        const have = await store.has([...acked])
        const missing = [...acked].filter((id) => !have.has(id))
        lost += missing.length
        expect(missing, `round ${round}: acknowledged records missing after kill -9`).toEqual([])
      } finally {
        await store.close()
      }
    }
    expect(acked.size).toBeGreaterThan(0)
    // The restarted daemon serves the store (the stale state file of the killed one does not get in the way).
    const d = await startDaemon()
    try {
      const stats = await fetch(`${d.url}/v1/stats`, {headers: {authorization: `Bearer ${token}`}}).then((r) => r.json())
      expect(stats.records).toBeGreaterThanOrEqual(acked.size)
    } finally {
      d.proc.kill('SIGTERM')
      await d.exited
    }
    rmSync(join(sb.dir, '.steme', 'state', 'serve.json'), {force: true})
    report({suite: 'kill -9 of steme serve mid-write', faults: KILLS, inputs: sentTotal, lost, invalidStored: 0, crashes: 0})
  })

  it('after query load over keep-alive connections, with an SSE subscriber open, the first SIGTERM stops the daemon', {timeout: 120_000}, async () => {
    const d = await startDaemon()
    const auth = {authorization: `Bearer ${token}`}
    const sse = await fetch(`${d.url}/v1/events`, {headers: auth})
    expect(sse.status).toBe(200)
    let stop = false
    let answered = 0
    const loop = async () => {
      while (!stop) {
        const res = await fetch(`${d.url}/v1/query?subject=crash:0:${answered % 5}`, {headers: auth})
        await res.arrayBuffer()
        if (res.status === 200) answered++
      }
    }
    const loops = Array.from({length: 6}, loop)
    while (answered < 300) await new Promise((r) => setTimeout(r, 50))
    stop = true
    await Promise.all(loops)
    d.proc.kill('SIGTERM')
    const exit = await Promise.race([d.exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))])
    if (exit === 'still running') d.proc.kill('SIGKILL')
    expect(exit).toBe(0)
    expect(existsSync(join(sb.dir, '.steme', 'state', 'serve.json'))).toBe(false)
  })
})
