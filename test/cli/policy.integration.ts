/**
 * Whose word counts, end to end through bin/run.js on a real DuckDB store: retractions by
 * source and by id, what `retract` reports, epochs, and supersession across subjects (needs
 * `npm run build`). The default key is the store's own; carol and dave sign through STEME_KEY.
 */
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {initHash} from '../../src/core/hash.js'
import {queryOp} from '../../src/ops/query.js'
import {openRuntime, type Runtime} from '../../src/runtime.js'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
/** Sign as this key: the default one (alice), or a named one through STEME_KEY. */
const as = (name: string) => (name === 'alice' ? undefined : {env: {STEME_KEY: join(sb.dir, 'xdg', 'steme', 'keys', `${name}.key`)}})
const agents: Record<string, string> = {}

function ok(args: string[], opts?: {env?: NodeJS.ProcessEnv}) {
  const r = sb.run(args, opts)
  expect(r.code, `steme ${args.join(' ')}: ${r.stderr}`).toBe(0)
  return r
}
const json = <T = Record<string, unknown>>(args: string[], opts?: {env?: NodeJS.ProcessEnv}): T => JSON.parse(ok([...args, '--json'], opts).stdout) as T
const assertAs = (name: string, ...args: string[]): string => json<{id: string}>(['assert', ...args], as(name)).id
type Cand = {id: string; state: string; why?: string[]}
/**
 * The store read as `steme query`/`steme stats` read it, with the key the env names (the same
 * runtime, read-only), in this process: the states are checked ~20 times, and a spawn of
 * bin/run.js costs ~0.4 s. What the commands under test print is still read from their processes.
 */
async function reading<T>(fn: (rt: Runtime) => Promise<T>, opts?: {env?: NodeJS.ProcessEnv}): Promise<T> {
  const rt = await openRuntime({store: join(sb.dir, '.steme'), env: {...sb.env, ...opts?.env}, cwd: sb.dir, readOnly: true, dbThreads: 1})
  try {
    // As --json prints it.
    return JSON.parse(JSON.stringify(await fn(rt))) as T
  } finally {
    await rt.close()
  }
}
/** What `steme query <subject> <predicate> --all --json` lists as candidates, with their states. */
const candidates = (subject: string, predicate: string, opts?: {env?: NodeJS.ProcessEnv}): Promise<Cand[]> => reading(async (rt) => (await queryOp(rt, {subject, predicate})).candidates as Cand[], opts)
const stateOf = async (subject: string, predicate: string, id: string, opts?: {env?: NodeJS.ProcessEnv}) => (await candidates(subject, predicate, opts)).find((c) => c.id === id)?.state
const retractRecords = () => reading(async (rt) => (await rt.store.stats()).byKind.retract ?? 0)

beforeAll(async () => {
  await initHash()
  sb = sandbox('steme-policy-')
  ok(['init'])
  agents.alice = json<{agent: string}>(['whoami']).agent
  for (const n of ['carol', 'dave']) {
    ok(['keys', 'generate', '--name', n])
    agents[n] = json<{agent: string}>(['whoami'], as(n)).agent
  }
})
afterAll(() => sb.cleanup())

describe("retraction by source, for the agent's own records", () => {
  it("an untrusted agent's source retraction retracts its own assertions citing it, and what derives from them, in the default key's queries", async () => {
    const carols = assertAs('carol', 'own:1', 'p', '"carolval"', '--source', 'carol:notes')
    const daves = assertAs('dave', 'own:1', 'p', '"daveval"', '--source', 'carol:notes')
    const derived = assertAs('dave', 'own:2', 'p', '"derived"', '--evidence', carols)
    ok(['retract', '--source', 'carol:notes', '--reason', 'my notes were wrong'], as('carol'))
    expect(await stateOf('own:1', 'p', carols)).toBe('retracted')
    expect(await stateOf('own:1', 'p', daves)).toBe('live')
    expect(await stateOf('own:2', 'p', derived)).toBe('retracted')
    expect((await candidates('own:1', 'p')).find((c) => c.id === carols)?.why?.join(' ')).toContain('my notes were wrong')
  })
})

describe('what retract reports', () => {
  it("retracting another agent's assertion with a key the default key does not trust: recorded, and the report says the default key's queries do not honour it", async () => {
    const daves = assertAs('dave', 'dv:1', 'p', '"daveval"')
    const r = ok(['retract', daves.slice(0, 12)], as('carol'))
    expect(r.stderr).toContain('retracted 1 assertion directly')
    expect(r.stderr).toContain(`not for those of your default key (${agents.alice.slice(0, 12)})`)
    expect(r.stderr).toContain(`steme trust ${agents.carol} <weight>`)
    expect(await stateOf('dv:1', 'p', daves)).toBe('live')
    expect(await stateOf('dv:1', 'p', daves, as('carol'))).toBe('retracted')
  })

  it("--json counts the records that are other agents', and whether the default key trusts the signer", async () => {
    assertAs('alice', 'lab:1', 'p', '1', '--source', 'lab:7')
    assertAs('alice', 'lab:2', 'p', '2', '--source', 'lab:7')
    const carols = assertAs('carol', 'lab:3', 'p', '3', '--source', 'lab:7')
    const res = json(['retract', '--source', 'lab:7'], as('carol'))
    expect(res).toMatchObject({direct: 3, others: 2, trusted: false, agent: agents.carol, viewer: agents.alice})
    expect(await stateOf('lab:3', 'p', carols)).toBe('retracted')
    expect((await candidates('lab:1', 'p'))[0].state).toBe('live')
  })

  it('once the default key trusts the signer, its retractions of others count there and the report says nothing more', async () => {
    ok(['trust', agents.carol, '0.8'])
    const daves = assertAs('dave', 'dv:2', 'p', '"daveval"')
    const r = sb.run(['retract', daves], as('carol'))
    expect(r.code).toBe(0)
    expect(r.stderr).not.toContain('default key')
    expect(await stateOf('dv:2', 'p', daves)).toBe('retracted')
    // And the earlier ones count now too.
    expect((await candidates('dv:1', 'p'))[0].state).toBe('retracted')
  })

  it("retracting with the default key reports no caveat, even for another agent's record", async () => {
    const daves = assertAs('dave', 'dv:3', 'p', '"daveval"')
    const r = ok(['retract', daves, '--json'])
    expect(JSON.parse(r.stdout)).toMatchObject({trusted: true})
    expect(r.stderr).not.toContain('note:')
  })

  it('the same retraction again writes nothing and says so', async () => {
    const mine = assertAs('alice', 'dup:1', 'p', '1', '--source', 'dup:src')
    const first = json<{id: string}>(['retract', mine, '--reason', 'first'])
    const before = await retractRecords()
    const again = ok(['retract', mine.slice(0, 12), '--reason', 'second'])
    expect(again.stdout.trim()).toBe(first.id)
    expect(again.stderr).toContain(`you already made this retraction (${first.id.slice(0, 12)}); nothing new written`)
    expect(json(['retract', mine])).toMatchObject({id: first.id, duplicate: true})
    expect(await retractRecords()).toBe(before)
    expect((await candidates('dup:1', 'p'))[0].why?.join(' ')).toContain('first')
    // By source too; another agent's retraction of the same target is its own record.
    const bySource = json<{id: string}>(['retract', '--source', 'dup:src'])
    expect(json(['retract', '--source', 'dup:src'])).toMatchObject({id: bySource.id, duplicate: true})
    expect(json(['retract', mine], as('carol')).duplicate).toBeUndefined()
    expect(await retractRecords()).toBe(before + 2)
  })
})

describe('epochs count only from agents trusted here', () => {
  it("a stranger's epoch does not move epoch:current, --explain names it, and trusting the author makes it count", async () => {
    ok(['epoch', 'post-2024', '--starts', '2024-01-01'])
    ok(['assert', 'd:a', 'dose', '50', '--epoch', 'post-2024'])
    const declared = ok(['epoch', 'dave-era', '--starts', '2025-06-01'], as('dave'))
    expect(declared.stderr).toContain(`queries signed with your default key (${agents.alice.slice(0, 12)}) ignore this epoch`)
    const q = json<{resolutions: Array<{explanation: string[]; winner?: {value: unknown}}>}>(['query', 'd:a', 'dose', '--lens', 'epoch', '--explain'])
    const text = q.resolutions[0].explanation.join('\n')
    expect(text).toContain('epoch "post-2024" (current)')
    expect(text).toContain(`epoch "dave-era" (by ${agents.dave.slice(0, 12)}) ignored: its author is not trusted here`)
    // Endorsements are shared out (EigenTrust): withdraw carol's so dave's reaches tier trusted.
    ok(['trust', agents.carol, '0'])
    ok(['trust', agents.dave, '0.8'])
    const after = json<{resolutions: Array<{explanation: string[]}>}>(['query', 'd:a', 'dose', '--lens', 'epoch', '--explain']).resolutions[0].explanation.join('\n')
    expect(after).toContain('current is "dave-era"')
    expect(after).not.toContain('ignored')
  })
})

describe('declaring an epoch name again', () => {
  it('says which declaration it replaces and from when, in the text and in --json', async () => {
    const first = json<{id: string; redefines?: unknown}>(['epoch', 'trial-phase', '--starts', '2023-01-01'])
    expect(first.redefines).toBeUndefined()
    const moved = ok(['epoch', 'trial-phase', '--starts', '2023-06-01'])
    expect(moved.stderr).toBe(
      `note: epoch "trial-phase" was declared before (${first.id.slice(0, 12)}, by ${agents.alice.slice(0, 12)}), starting 2023-01-01; the latest declaration of a name defines it; it now starts 2023-06-01\n`,
    )
    const second = moved.stdout.trim()
    const again = json<{redefines?: unknown}>(['epoch', 'trial-phase', '--starts', '2023-06-01'])
    expect(again.redefines).toEqual({id: second, starts: '2023-06-01', agent: agents.alice})
    expect(ok(['epoch', 'trial-phase', '--starts', '2023-06-01']).stderr).toContain('starting 2023-06-01; the latest declaration of a name defines it, the same start: nothing changes for the lenses')
  })
})

describe('supersession across subjects', () => {
  it("an assertion about another subject takes the one it supersedes out of that one's answers; retracting it brings it back", async () => {
    const old = assertAs('alice', 's:2', 'q', '"other"')
    const r = ok(['assert', 's:1', 'p', '"new"', '--supersedes', old.slice(0, 12), '--json'])
    const newer = JSON.parse(r.stdout).id as string
    expect(r.stderr).toContain('it drops out of the answers about that')
    expect((await candidates('s:2', 'q'))[0]).toMatchObject({id: old, state: 'superseded', why: [`superseded by ${newer}`]})
    expect(json<{resolutions: Array<{status: string}>}>(['query', 's:2', 'q']).resolutions[0].status).toBe('empty')
    ok(['retract', newer])
    expect(await stateOf('s:2', 'q', old)).toBe('live')
  })

  it("another agent's assertion about another subject supersedes nothing", async () => {
    const old = assertAs('dave', 's:3', 'q', '"dave"')
    ok(['assert', 's:4', 'p', '"carol"', '--supersedes', old], as('carol'))
    expect(await stateOf('s:3', 'q', old)).toBe('live')
  })
})
