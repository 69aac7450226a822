/** The CLI against a daemon as real processes: --remote gives the same JSON as local, writes signed here and stored there, the lock story, tokens, SIGTERM. */
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DuckDBStore} from '../../src/adapters/duckdb/index.js'
import {initHash} from '../../src/core/hash.js'
import {assertion, testKey} from '../helpers/records.js'
import {freshEnv, removeTemplate, startDaemon, tokenFor, type Daemon, type Env} from './cli-env.js'
import {steme} from './daemon.js'
import {ndjson} from './harness.js'

afterAll(removeTemplate)

describe('CLI against a daemon', () => {
  // Made in beforeAll, not when the file is collected: a run that filters this block out runs no afterAll to remove it.
  let e: Env
  let token: string
  let ids: string[]
  const local: Record<string, unknown> = {}
  const reads = (id: string) => ({
    query: ['query', 'drug:aspirin', '--json'],
    queryPred: ['query', 'drug:aspirin', 'bleeding_rate', '--lens', 'recency', '--json'],
    log: ['log', '--json'],
    logSubject: ['log', 'drug:aspirin', '--limit', '2', '--json'],
    show: ['show', id, '--json'],
    conflicts: ['conflicts', '--json'],
    stats: ['stats', '--json'],
  })

  beforeAll(async () => {
    e = await freshEnv()
    const facts = ['{"subject":"drug:aspirin","predicate":"bleeding_rate","value":0.002,"confidence":0.9}', '{"subject":"drug:aspirin","predicate":"bleeding_rate","value":0.003}', '{"subject":"drug:aspirin","predicate":"dose","value":"81mg"}']
    const ing = await steme(e, ['ingest', '-', '--json'], facts.join('\n') + '\n')
    expect(ing.code).toBe(0)
    // The log first: the ids it lists name the record `show` reads.
    local.log = JSON.parse((await steme(e, reads('').log)).stdout)
    ids = (local.log as {records: Array<{id: string}>}).records.map((r) => r.id)
    for (const [k, args] of Object.entries(reads(ids[0]))) if (k !== 'log') local[k] = JSON.parse((await steme(e, args)).stdout)
    writeFileSync(join(e.dir, '.steme', 'claims.toml'), '[[claim]]\nid = "aspirin-dose"\nsubject = "drug:aspirin"\npredicate = "dose"\nexpect = "81mg"\nfrom = "store"\n')
    const v = await steme(e, ['verify', '--json'])
    expect(v.code, v.stderr).toBe(0)
    local.verify = JSON.parse(v.stdout).verdicts
    expect(local.verify).toMatchObject([{id: 'aspirin-dose', status: 'PASS'}])
    token = tokenFor(e, 'write', 'cli')
    expect(token).toMatch(/^stm_/)
  })
  afterAll(async () => {
    await stopShared()
    if (e) rmSync(e.dir, {recursive: true, force: true})
  })

  it('--remote, and a daemon found on this machine, give the same JSON as local mode; SIGTERM stops it cleanly', async () => {
    const d = await startDaemon(e)
    try {
      for (const [k, args] of Object.entries(reads(ids[0]))) {
        const remote = await steme(e, [...args, '--remote', d.url, '--token', token])
        expect(remote.code, `${k}: ${remote.stderr}`).toBe(0)
        expect(JSON.parse(remote.stdout), k).toEqual(local[k])
        // Without --remote the command finds the daemon holding the store and goes through it.
        const auto = await steme(e, args)
        expect(auto.code, `${k}: ${auto.stderr}`).toBe(0)
        expect(auto.stderr).toMatch(/holds this store: going through it/)
        expect(JSON.parse(auto.stdout), k).toEqual(local[k])
      }
      // verify reads the repo here and resolves store claims through the daemon.
      for (const extra of [['--remote', d.url, '--token', token], []]) {
        const v = await steme(e, ['verify', '--json', ...extra])
        expect(v.code, v.stderr).toBe(0)
        expect(JSON.parse(v.stdout).verdicts).toEqual(local.verify)
      }
      // Errors keep their exit codes and codes across the wire.
      const missing = await steme(e, ['show', 'f'.repeat(64), '--json', '--remote', d.url, '--token', token])
      expect(missing.code).toBe(1)
      expect(JSON.parse(missing.stdout).error.code).toBe('not_found')
      const noToken = await steme(e, ['query', 'drug:aspirin', '--remote', d.url, '--token', 'stm_bad'])
      expect(noToken.code).not.toBe(0)
      expect(noToken.stderr).toMatch(/token refused/)
      // Writes sign here, store there.
      const asserted = await steme(e, ['assert', 'drug:aspirin', 'dose', '100mg', '--remote', d.url, '--token', token, '--json'])
      expect(asserted.code, asserted.stderr).toBe(0)
      const newId = JSON.parse(asserted.stdout).id
      // What it cites and replaces is looked up through the daemon, by the short id log prints too.
      const replaced = await steme(e, ['assert', 'drug:aspirin', 'dose', '150mg', '--supersedes', newId.slice(0, 12), '--evidence', newId, '--remote', d.url, '--token', token, '--json'])
      expect(replaced.code, replaced.stderr).toBe(0)
      expect(JSON.parse(replaced.stdout).record).toMatchObject({supersedes: [newId], evidence: [newId]})
      const unknown = await steme(e, ['assert', 'drug:aspirin', 'dose', '1mg', '--supersedes', 'e'.repeat(64), '--remote', d.url, '--token', token])
      expect(unknown.code).toBe(1)
      expect(unknown.stderr).toContain(`no record ${'e'.repeat(64)}`)
      const ing = await steme(e, ['ingest', '-', '--json'], '{"subject":"drug:ibuprofen","predicate":"dose","value":400}\n')
      expect(JSON.parse(ing.stdout)).toMatchObject({added: 1, rejected: 0})
      // A command that cannot go through the daemon says which daemon holds the store and what to do.
      const fsck = await steme(e, ['fsck'])
      expect(fsck.code).toBe(1)
      expect(fsck.stderr).toMatch(/held by `steme serve` \(pid \d+/)
      expect(fsck.stderr).toMatch(/kill -TERM \d+/)
      expect(fsck.stderr).not.toMatch(/IO Error|Could not set lock/)
      d.proc.kill('SIGTERM')
      expect(await d.exited).toBe(0)
      expect(existsSync(join(e.dir, '.steme', 'state', 'serve.json'))).toBe(false)
      const after = JSON.parse((await steme(e, ['show', newId, '--json'])).stdout)
      expect(after.signature).toBe('valid')
    } finally {
      d.proc.kill('SIGKILL')
    }
  })

  /**
   * One daemon on the store for the tests after the first (which stops its own, to check SIGTERM),
   * started by the first that needs it and stopped after them all: each of them writes records of
   * its own and reads back only those, so none needs a daemon fresh from start.
   */
  let shared: Promise<Daemon> | undefined
  async function withDaemon(run: (d: Daemon) => Promise<void>): Promise<void> {
    shared ??= startDaemon(e)
    const d = await shared
    expect(d.proc.exitCode, d.log()).toBeNull()
    await run(d)
  }
  async function stopShared(): Promise<void> {
    const d = await shared?.catch(() => undefined)
    shared = undefined
    if (!d) return
    d.proc.kill('SIGTERM')
    await d.exited
  }
  let agent: string | undefined
  const whoami = async () => (agent ??= JSON.parse((await steme(e, ['whoami', '--json'])).stdout).agent as string)
  /** A write through the daemon with a read token is refused with the daemon's 403. */
  async function refusedForReadToken(d: {url: string}, name: string, args: string[]): Promise<void> {
    const reader = tokenFor(e, 'read', name)
    const refused = await steme(e, [...args, '--remote', d.url, '--token', reader])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/this route needs a write token/)
  }

  it('vote goes through the daemon, found on this machine or with --remote: signed here, stored there', () =>
    withDaemon(async (d) => {
      const target = ids.find((id) => id)!
      const up = await steme(e, ['vote', target.slice(0, 12), 'up', '--json'])
      expect(up.code, up.stderr).toBe(0)
      expect(up.stderr).toMatch(/holds this store: going through it/)
      const upVote = JSON.parse(up.stdout)
      expect(upVote).toMatchObject({target, weight: 1})
      const down = await steme(e, ['vote', target, 'down', '--remote', d.url, '--token', token, '--json'])
      expect(down.code, down.stderr).toBe(0)
      const downVote = JSON.parse(down.stdout)
      // Both are stored in the daemon's store, signed by this key, and cite their target.
      const shown = JSON.parse((await steme(e, ['show', target, '--json'])).stdout)
      expect(shown.citedBy).toEqual(expect.arrayContaining([expect.objectContaining({id: upVote.id, kind: 'vote'}), expect.objectContaining({id: downVote.id, kind: 'vote'})]))
      const vote = JSON.parse((await steme(e, ['show', downVote.id, '--json'])).stdout)
      expect(vote).toMatchObject({signature: 'valid', record: {kind: 'vote', target, weight: -1, agent: await whoami()}})
      // Refusals keep their codes across the wire: an unknown id, a vote on a vote, a read token.
      const unknown = await steme(e, ['vote', 'e'.repeat(64), 'up'])
      expect(unknown.code).toBe(1)
      expect(unknown.stderr).toContain(`no record ${'e'.repeat(64)}`)
      const onVote = await steme(e, ['vote', downVote.id, 'up'])
      expect(onVote.code).toBe(1)
      expect(onVote.stderr).toContain('votes are on assertions')
      await refusedForReadToken(d, 'voter-read', ['vote', target, 'up'])
    }))

  it('retract goes through the daemon, by id or by --source: signed here, stored there; the cascade is not counted', () =>
    withDaemon(async (d) => {
      const added = await steme(e, ['assert', 'drug:warfarin', 'dose', '5mg', '--source', 'lab:remote-batch', '--json'])
      expect(added.code, added.stderr).toBe(0)
      const target = JSON.parse(added.stdout).id as string
      const other = JSON.parse((await steme(e, ['assert', 'drug:warfarin', 'half_life', '40h', '--json'])).stdout).id as string
      const byId = await steme(e, ['retract', other.slice(0, 12), '--reason', 'typo', '--json'])
      expect(byId.code, byId.stderr).toBe(0)
      expect(byId.stderr).toMatch(/holds this store: going through it/)
      expect(byId.stderr).toContain('note: through steme serve: the cascade is not counted here')
      const me = await whoami()
      // The shape of local mode, less what needs reads across the store.
      const r = JSON.parse(byId.stdout)
      expect(r).toEqual({id: expect.stringMatching(/^[0-9a-f]{64}$/), agent: me, target: other, targetKind: 'assertion', viewer: me, trusted: true})
      const bySource = await steme(e, ['retract', '--source', 'lab:remote-batch', '--remote', d.url, '--token', token, '--json'])
      expect(bySource.code, bySource.stderr).toBe(0)
      expect(JSON.parse(bySource.stdout)).toMatchObject({agent: me, source: 'lab:remote-batch', trusted: true})
      expect(JSON.parse(bySource.stdout).direct).toBeUndefined()
      // Both are stored in the daemon's store, signed by this key, and take effect there.
      for (const [id, by] of [[other, r.id], [target, JSON.parse(bySource.stdout).id]]) {
        const shown = JSON.parse((await steme(e, ['show', id, '--json'])).stdout)
        expect(shown.state, id).toBe('retracted')
        const rec = JSON.parse((await steme(e, ['show', by, '--json'])).stdout)
        expect(rec).toMatchObject({signature: 'valid', record: {kind: 'retract', agent: me}})
      }
      // Refusals keep their codes across the wire: an unknown id, a retraction of a retraction, a read token.
      const unknown = await steme(e, ['retract', 'e'.repeat(64)])
      expect(unknown.code).toBe(1)
      expect(unknown.stderr).toContain(`no record ${'e'.repeat(64)}`)
      const again = await steme(e, ['retract', r.id.slice(0, 12)])
      expect(again.code).toBe(1)
      expect(again.stderr).toContain('is itself a retraction; retractions are permanent')
      await refusedForReadToken(d, 'retract-read', ['retract', target])
    }))

  it('trust goes through the daemon, found on this machine or with --remote: signed here, stored there; tiers are not checked', () =>
    withDaemon(async (d) => {
      const me = await whoami()
      const colleague = testKey(71).publicHex
      const auto = await steme(e, ['trust', colleague, '0.8', '--json'])
      expect(auto.code, auto.stderr).toBe(0)
      expect(auto.stderr).toMatch(/holds this store: going through it/)
      expect(auto.stderr).toContain("note: through steme serve: whether this endorsement drops or raises anyone's tier is not checked here")
      const first = JSON.parse(auto.stdout)
      expect(first).toEqual({id: expect.stringMatching(/^[0-9a-f]{64}$/), target: colleague, weight: 0.8})
      const remote = await steme(e, ['trust', colleague, '0.5', '--remote', d.url, '--token', token, '--json'])
      expect(remote.code, remote.stderr).toBe(0)
      const second = JSON.parse(remote.stdout)
      // Both are stored in the daemon's store, signed by this key.
      for (const [id, weight] of [[first.id, 0.8], [second.id, 0.5]] as const) {
        const shown = JSON.parse((await steme(e, ['show', id, '--json'])).stdout)
        expect(shown).toMatchObject({signature: 'valid', record: {kind: 'trust', agent: me, target: colleague, weight}})
      }
      // Refused before anything is sent, as locally: a short key, your own key; and a read token by the daemon.
      const short = await steme(e, ['trust', colleague.slice(0, 16), '1'])
      expect(short.code).toBe(2)
      expect(short.stderr).toContain('is not an agent key: it has 16 hex chars')
      const self = await steme(e, ['trust', me, '1'])
      expect(self.code).not.toBe(0)
      expect(self.stderr).toContain('an agent cannot endorse itself')
      await refusedForReadToken(d, 'trust-read', ['trust', colleague, '1'])
    }))

  it('epoch goes through the daemon, found on this machine or with --remote: signed here, stored there; a redefinition is not checked', () =>
    withDaemon(async (d) => {
      const me = await whoami()
      const auto = await steme(e, ['epoch', 'remote-q3', '--starts', '2026-07-01', '--note', 'new guideline', '--json'])
      expect(auto.code, auto.stderr).toBe(0)
      expect(auto.stderr).toMatch(/holds this store: going through it/)
      expect(auto.stderr).toContain('note: through steme serve: whether this redefines an earlier epoch "remote-q3" is not checked here')
      const first = JSON.parse(auto.stdout)
      expect(first).toEqual({id: expect.stringMatching(/^[0-9a-f]{64}$/), name: 'remote-q3', starts: '2026-07-01', agent: me, viewer: me, trusted: true})
      // A second declaration of the name: locally a note says it redefines the first; here it is left out.
      const remote = await steme(e, ['epoch', 'remote-q3', '--starts', '2026-08-01', '--remote', d.url, '--token', token, '--json'])
      expect(remote.code, remote.stderr).toBe(0)
      const second = JSON.parse(remote.stdout)
      expect(second.redefines).toBeUndefined()
      expect(remote.stderr).not.toContain('was declared before')
      for (const [id, starts] of [[first.id, '2026-07-01'], [second.id, '2026-08-01']]) {
        const shown = JSON.parse((await steme(e, ['show', id, '--json'])).stdout)
        expect(shown).toMatchObject({signature: 'valid', record: {kind: 'epoch', agent: me, name: 'remote-q3', starts}})
      }
      await refusedForReadToken(d, 'epoch-read', ['epoch', 'remote-q4', '--starts', '2026-10-01'])
    }))

  it('token commands: create shows the token once, list never shows secrets, revoke refuses it', async () => {
    const created = JSON.parse((await steme(e, ['serve', 'token', 'create', '--role', 'read', '--name', 'tmp', '--json'])).stdout)
    const listed = (await steme(e, ['serve', 'token', 'list', '--json'])).stdout
    expect(listed).not.toContain(created.token)
    expect(listed).not.toContain('hash')
    expect(JSON.parse(listed).tokens.map((t: {name: string}) => t.name)).toContain('tmp')
    const file = readFileSync(join(e.dir, '.steme', 'state', 'tokens.json'), 'utf8')
    expect(file).not.toContain(created.token)
    await withDaemon(async (d) => {
      expect((await steme(e, ['log', '--remote', d.url, '--token', created.token, '--json'])).code).toBe(0)
      expect((await steme(e, ['serve', 'token', 'revoke', 'tmp'])).code).toBe(0)
      const refused = await steme(e, ['log', '--remote', d.url, '--token', created.token, '--json'])
      expect(refused.code).toBe(2) // a revoked token is a configuration error, as a missing one is
      expect(JSON.parse(refused.stdout).error.code).toBe('unauthorized')
      const unknown = await steme(e, ['serve', 'token', 'revoke', 'nope'])
      expect(unknown.code).toBe(2) // a name that names no token is a usage error, as for remotes and keys
    })
  })
})

describe('SIGTERM during a large ingest', () => {
  it('loses no acknowledged record', async () => {
    await initHash()
    const e = await freshEnv()
    try {
      const token = tokenFor(e, 'write')
      const d = await startDaemon(e)
      const key = testKey(7)
      const batches = Array.from({length: 30}, (_, b) => Array.from({length: 1000}, (_, i) => assertion({subject: `load:${b}`, predicate: 'i', value: i}, key)))
      const acked: string[] = []
      let refused = 0
      let sent = 0
      const post = async (batch: (typeof batches)[number]) => {
        try {
          const res = await fetch(`${d.url}/v1/records?detail=ids`, {method: 'POST', headers: {authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson'}, body: ndjson(batch)})
          if (res.status !== 200) return void refused++
          const body = await res.json()
          expect(body.rejected).toBe(0)
          acked.push(...body.ids.added, ...body.ids.present)
        } catch {
          refused++ // connection refused or reset: not acknowledged
        }
      }
      // Two writers, so a request is in flight when the signal lands.
      const worker = async () => {
        while (sent < batches.length) {
          const batch = batches[sent++]
          if (sent === 6) d.proc.kill('SIGTERM')
          await post(batch)
        }
      }
      await Promise.all([worker(), worker()])
      expect(await d.exited).toBe(0)
      expect(acked.length).toBeGreaterThan(0)
      expect(refused).toBeGreaterThan(0)
      const store = await DuckDBStore.open(join(e.dir, '.steme', 'store.duckdb'))
      try {
        const have = await store.has(acked)
        expect(acked.filter((id) => !have.has(id))).toEqual([])
      } finally {
        await store.close()
      }
    } finally {
      rmSync(e.dir, {recursive: true, force: true})
    }
  })
})

