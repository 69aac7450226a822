/** A team of three, each with their own key and store, synced through a shared store by path: what each one's answers and explanations say once others' retractions, trust and epochs arrive. */
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

type Candidate = {id: string; state: string; why?: string[]}
type Query = {candidates: Candidate[]; resolutions: Array<{explanation: string[]; status: string}>}

let alice: Sandbox
let bob: Sandbox
let carol: Sandbox
let hub: string
const store = (sb: Sandbox) => join(sb.dir, 'store')
const run = (sb: Sandbox, args: string[]) => {
  const r = sb.run(args, {cwd: store(sb)})
  if (r.code !== 0) throw new Error(`steme ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r.stdout.trim()
}
const json = <T>(sb: Sandbox, args: string[]) => sb.json<T>(args, {cwd: store(sb)})
const agentOf = (sb: Sandbox) => json<{agent: string}>(sb, ['whoami']).agent

beforeAll(() => {
  ;[alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => sandbox(`steme-team-${n}-`))
  hub = join(alice.dir, 'hub')
  mkdirSync(hub)
  expect(alice.run(['init'], {cwd: hub}).code).toBe(0)
  for (const sb of [alice, bob, carol]) {
    mkdirSync(store(sb))
    run(sb, ['init'])
    run(sb, ['remote', 'add', 'origin', hub])
  }
})
afterAll(() => {
  for (const sb of [alice, bob, carol]) sb?.cleanup()
})

describe('retractions that arrive by sync from agents not trusted here', () => {
  let mine: string
  let older: string
  let carolKey: string
  let bobKey: string

  beforeAll(() => {
    older = run(alice, ['assert', 'drug:x', 'rate', '0.3', '--source', 'lab:a'])
    mine = run(alice, ['assert', 'drug:x', 'rate', '0.2', '--source', 'lab:a'])
    run(alice, ['sync'])
    carolKey = agentOf(carol)
    bobKey = agentOf(bob)
    run(carol, ['pull'])
    run(carol, ['retract', mine.slice(0, 12), '--reason', 'misread'])
    run(carol, ['sync'])
    run(bob, ['pull'])
    run(bob, ['retract', '--source', 'lab:a'])
    run(bob, ['sync'])
    run(alice, ['pull'])
  })

  it('leave the assertion live, and --all and show say whose retraction was set aside and why', () => {
    const q = json<Query>(alice, ['query', 'drug:x', 'rate', '--all'])
    const c = q.candidates.find((x) => x.id === mine)!
    expect(c.state).toBe('live')
    expect(c.why).toHaveLength(2)
    const [byCarol, byBob] = [c.why!.find((w) => w.includes(carolKey.slice(0, 12)))!, c.why!.find((w) => w.includes(bobKey.slice(0, 12)))!]
    expect(byCarol).toMatch(/^not retracted: [0-9a-f]{12} by agent [0-9a-f]{12} retracts it \("misread"\), but that agent is not trusted here \(no trust here\)/)
    expect(byCarol).toContain(`steme trust ${carolKey} <weight>`)
    expect(byBob).toMatch(/retracts its source "lab:a", but that agent is not trusted here/)
    const shown = alice.run(['show', mine.slice(0, 12)], {cwd: store(alice)})
    expect(shown.stdout).toMatch(/state: live\n {2}not retracted: /)
    // Carol's own store takes her word on her own retraction: nothing to set aside there.
    run(carol, ['pull'])
    const hers = json<Query>(carol, ['query', 'drug:x', 'rate', '--all']).candidates.find((x) => x.id === mine)!
    expect(hers.state).toBe('retracted')
    expect(hers.why!.join('\n')).toMatch(/retracted by [0-9a-f]{12} \(agent [0-9a-f]{12}\): misread/)
  })

  it('show of each retraction says whether it takes effect here and why', () => {
    type Shown = {effect?: {here: string; why: string}}
    const retractions = json<{records: Array<{id: string; kind: string; agent: string}>}>(alice, ['log']).records.filter((x) => x.kind === 'retract')
    const byCarol = retractions.find((x) => x.agent === carolKey)!.id
    const byBob = retractions.find((x) => x.agent === bobKey)!.id
    // Carol's retraction of alice's assertion: set aside here, in the words query --all uses.
    const c = json<Shown>(alice, ['show', byCarol.slice(0, 12)]).effect!
    expect(c.here).toBe('no')
    expect(c.why).toBe(
      `set aside: its author ${carolKey.slice(0, 12)} is not trusted here (no trust here), and the record it names is agent ${agentOf(alice).slice(0, 12)}'s; ` +
        `retractions of others' records count from the store's own key, pre-trusted agents and tier trusted or above (\`steme trust ${carolKey} <weight>\` to change that)`,
    )
    expect(alice.run(['show', byCarol.slice(0, 12)], {cwd: store(alice)}).stdout).toContain(`\ntakes effect here: no\n  set aside: its author ${carolKey.slice(0, 12)}`)
    // Bob's retraction of the source: it holds for bob's own assertions citing it, nobody else's.
    const b = json<Shown>(alice, ['show', byBob.slice(0, 12)]).effect!
    expect(b.here).toBe('own records only')
    expect(b.why).toMatch(new RegExp(`^it retracts its author's own assertions citing source "lab:a" and no one else's: its author ${bobKey.slice(0, 12)} is not trusted here \\(no trust here\\)`))
    // In carol's own store her retraction counts, her key being the store's; in bob's, so does his of the source, for everyone's assertions.
    run(carol, ['pull'])
    expect(json<Shown>(carol, ['show', byCarol.slice(0, 12)]).effect).toEqual({here: 'yes', why: "its author is the store's own key: the record it names is retracted here, and what stands on it"})
    run(bob, ['pull'])
    expect(json<Shown>(bob, ['show', byBob.slice(0, 12)]).effect).toEqual({
      here: 'yes',
      why: `its author is the store's own key: every assertion citing source "lab:a" is retracted here, and what stands on them`,
    })
    // An assertion shows no effect line: it is not a retraction.
    expect(json<Shown>(alice, ['show', mine.slice(0, 12)]).effect).toBeUndefined()
  })

  it('--explain says so too, for the winner and for the other candidates', () => {
    const explained = json<Query>(alice, ['query', 'drug:x', 'rate', '--explain']).resolutions[0].explanation.join('\n')
    expect(explained).toMatch(new RegExp(`the winner 0\\.2, assertion ${mine.slice(0, 12)}, not retracted: [0-9a-f]{12} by agent ${carolKey.slice(0, 12)} retracts it \\("misread"\\), but that agent is not trusted here`))
    expect(explained).toMatch(new RegExp(`the winner 0\\.2, assertion ${mine.slice(0, 12)}, .*; not retracted: [0-9a-f]{12} by agent ${bobKey.slice(0, 12)} retracts its source "lab:a"`))
    expect(explained).toMatch(new RegExp(`candidate 0\\.3, assertion ${older.slice(0, 12)}, not retracted: [0-9a-f]{12} by agent ${bobKey.slice(0, 12)} retracts its source "lab:a", but that agent is not trusted here`))
    const shown = alice.run(['query', 'drug:x', 'rate', '--explain'], {cwd: store(alice)}).stdout
    expect(shown).toMatch(new RegExp(`\n {2}rate: the winner 0\\.2, assertion ${mine.slice(0, 12)}, not retracted: `))
    expect(shown).toMatch(new RegExp(`\n {2}rate: candidate 0\\.3, assertion ${older.slice(0, 12)}, not retracted: `))
  })

  it('a new assertion citing a source retracted in the signer\'s queries says it is retracted from the start', () => {
    const r = bob.run(['assert', 'drug:x', 'rate', '0.3', '--source', 'lab:a'], {cwd: store(bob)})
    expect(r.code).toBe(0)
    const id = r.stdout.trim()
    expect(r.stderr).toMatch(new RegExp(`note: ${id.slice(0, 12)} is stored, but retracted from the start in this key's queries \\(${id.slice(0, 12)} cites source "lab:a", retracted by [0-9a-f]{12} \\(agent ${bobKey.slice(0, 12)}\\)\\); a retraction of a source holds for every assertion citing it, later ones too: cite another source`))
    const derived = bob.json<{warnings?: string[]}>(['assert', 'drug:x', 'risk', 'high', '--evidence', id.slice(0, 12)], {cwd: store(bob)})
    expect(derived.warnings).toEqual([expect.stringMatching(/is stored, but retracted from the start in this key's queries \([0-9a-f]{12} is retracted because all 1 of its evidence is retracted: .*\); cite evidence that stands$/)])
    // Alice does not take bob's word on her records' source: hers is live, and no note says otherwise.
    const hers = alice.run(['assert', 'drug:x', 'rate', '0.25', '--source', 'lab:a'], {cwd: store(alice)})
    expect(hers.code).toBe(0)
    expect(hers.stderr).not.toMatch(/retracted/)
  })

  it('take effect once trust in their author arrives, and the note gives way to the retraction chain', () => {
    run(alice, ['trust', carolKey, '1'])
    const q = json<Query>(alice, ['query', 'drug:x', 'rate', '--all', '--explain'])
    const c = q.candidates.find((x) => x.id === mine)!
    expect(c.state).toBe('retracted')
    expect(c.why!.join('\n')).not.toMatch(/not retracted/)
    expect(c.why![0]).toContain(`(agent ${carolKey.slice(0, 12)}): misread`)
    const byCarol = json<{records: Array<{id: string; kind: string; agent: string}>}>(alice, ['log']).records.find((x) => x.kind === 'retract' && x.agent === carolKey)!.id
    expect(json<{effect?: unknown}>(alice, ['show', byCarol]).effect).toEqual({
      here: 'yes',
      why: 'its author is trusted here (tier trusted, trust 0.850): the record it names is retracted here, and what stands on it',
    })
    // The explanation no longer names Carol's retraction as set aside; Bob's of the source still is.
    const explained = q.resolutions[0].explanation.join('\n')
    expect(explained).not.toContain(`by agent ${carolKey.slice(0, 12)} retracts`)
    expect(explained).toMatch(new RegExp(`candidate 0\\.3, assertion ${older.slice(0, 12)}, not retracted: [0-9a-f]{12} by agent ${bobKey.slice(0, 12)}`))
  })
})

describe('epochs that arrive by sync from agents not trusted here', () => {
  beforeAll(() => {
    run(bob, ['assert', 'drug:y', 'rate', '1'])
    run(bob, ['epoch', 'bobs-era', '--starts', '2020-01-01'])
    run(bob, ['sync'])
    run(alice, ['pull'])
  })

  it('the epoch lens says none counts here, not that none is defined', () => {
    const res = json<Query>(alice, ['query', 'drug:y', 'rate', '--lens', 'epoch']).resolutions[0]
    expect(res.status).toBe('abstain')
    expect(res.explanation.join('\n')).toMatch(/epoch "bobs-era" \(by [0-9a-f]{12}\) ignored: its author is not trusted here/)
    expect(res.explanation.join('\n')).toMatch(/no epoch counts here: every one this store holds is by an agent not trusted here/)
    expect(res.explanation.join('\n')).not.toMatch(/no epochs are defined/)
  })

  it('epoch:current says no epoch by a trusted agent has started, not that none has', () => {
    const r = alice.run(['query', 'drug:y', 'rate', '--lens', 'epoch:current, then recency', '--explain'], {cwd: store(alice)})
    expect(r.code).toBe(0)
    expect(r.stdout + r.stderr).toMatch(/no epoch declared by an agent trusted here has started by the time asked/)
    // Bob's own store takes his epoch: the filter keeps his assertion.
    const his = json<Query>(bob, ['query', 'drug:y', 'rate', '--lens', 'epoch:current, then recency', '--explain'])
    expect(his.resolutions[0].status).toBe('decided')
  })
})

describe('endorsements that arrive by sync', () => {
  it('trust list says when an endorser has no trust here, so a score of 0 next to an endorsement reads right', () => {
    const stranger = 'ab'.repeat(32)
    const bobKey = agentOf(bob)
    run(bob, ['trust', stranger, '0.7'])
    run(bob, ['sync'])
    run(alice, ['pull'])
    const list = json<{agents: Array<{agent: string; score: number; why: string}>}>(alice, ['trust', 'list'])
    const row = list.agents.find((a) => a.agent === stranger)!
    expect(row.score).toBe(0)
    expect(row.why).toBe(`endorsed by ${bobKey.slice(0, 12)} (0.7, itself without trust here)`)
    // In bob's own store his endorsement carries his trust, and the row says no more than who endorsed it.
    const his = json<{agents: Array<{agent: string; score: number; why: string}>}>(bob, ['trust', 'list']).agents.find((a) => a.agent === stranger)!
    expect(his.score).toBeGreaterThan(0)
    expect(his.why).toBe(`endorsed by ${bobKey.slice(0, 12)} (0.7)`)
  })
})

describe('supersession that arrives by sync from another agent', () => {
  it('leaves the older assertion live where that agent may not supersede it, and says so', () => {
    const old = run(alice, ['assert', 'drug:z', 'dose', '10'])
    run(alice, ['sync'])
    run(bob, ['pull'])
    const newer = run(bob, ['assert', 'drug:z', 'dose', '12', '--supersedes', old.slice(0, 12)])
    run(bob, ['sync'])
    run(alice, ['pull'])
    const c = json<Query>(alice, ['query', 'drug:z', 'dose', '--all']).candidates.find((x) => x.id === old)!
    expect(c.state).toBe('live')
    expect(c.why).toEqual([
      `not superseded: ${newer.slice(0, 12)} by agent ${agentOf(bob).slice(0, 12)} supersedes it, but only an assertion's own author, the store's own key and pre-trusted agents may supersede it here (docs/lenses.md, Supersession)`,
    ])
    expect(alice.run(['show', old.slice(0, 12)], {cwd: store(alice)}).stdout).toMatch(/state: live\n {2}not superseded: /)
    // Bob's store takes his own key's word: there the older one is superseded.
    const his = json<Query>(bob, ['query', 'drug:z', 'dose', '--all']).candidates.find((x) => x.id === old)!
    expect(his).toMatchObject({state: 'superseded', why: [`superseded by ${newer}`]})
  })
})

describe('a retraction regretted', () => {
  it('cannot be retracted, and the error says what brings the value back', () => {
    const id = run(carol, ['assert', 'drug:w', 'rate', '5'])
    const byId = run(carol, ['retract', id.slice(0, 12)])
    const r = carol.run(['retract', byId.slice(0, 12)], {cwd: store(carol)})
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`error: record ${byId} is itself a retraction; retractions are permanent`)
    expect(r.stderr).toContain('hint: nothing undoes a retraction; to bring back what it retracted, assert the value again (`steme assert`): the new record is not the one retracted')
    const bySource = run(carol, ['retract', '--source', 'lab:q'])
    const s = carol.run(['retract', bySource.slice(0, 12)], {cwd: store(carol)})
    expect(s.code).toBe(1)
    expect(s.stderr).toContain('hint: nothing undoes a retraction; it also retracts later assertions citing "lab:q": to bring a value back, assert it again citing another source')
  })
})

describe('endorsing a second colleague', () => {
  it('says when the shares it scales to drop the first below trusted, when withdrawing raises it back, and what that changes', () => {
    const dave = sandbox('steme-team-dave-')
    try {
      mkdirSync(store(dave))
      run(dave, ['init'])
      const [b, c] = ['b'.repeat(64), 'c'.repeat(64)]
      const first = dave.run(['trust', b, '0.8'], {cwd: store(dave)})
      expect(first.code).toBe(0)
      expect(first.stderr).not.toMatch(/note:/)
      const second = dave.json<{warnings?: string[]}>(['trust', c, '0.9'], {cwd: store(dave)})
      expect(second.warnings).toEqual([
        "your endorsements now sum to 1.7, more than 1, so each counts for its share (docs/lenses.md, Trust): bbbbbbbbbbbb drops from trusted to established (0.680 -> 0.400), cccccccccccc itself stands at established (0.450); retractions of others' records and epochs count only from tier trusted or above (`steme trust list`)",
      ])
      // Withdrawing one gives the other its whole weight back: b rises to trusted again, and its
      // retractions, old ones too, count again in dave's queries; that is said as well.
      const back = dave.run(['trust', c, '0'], {cwd: store(dave)})
      expect(back.code).toBe(0)
      const rose =
        "your endorsements now sum to 0.8, down from 1.7, so the others count for more (docs/lenses.md, Trust): bbbbbbbbbbbb rises from established to trusted (0.400 -> 0.680); their retractions of others' records and epochs now count in your queries, older ones too (`steme trust list`)"
      expect(back.stderr).toContain(`note: ${rose}`)
      expect(dave.json<{warnings?: string[]}>(['trust', c, '0.9'], {cwd: store(dave)}).warnings).toHaveLength(1)
      expect(dave.json<{warnings?: string[]}>(['trust', c, '0'], {cwd: store(dave)}).warnings).toEqual([rose])
      // Endorsing someone new, which takes nothing from b, says nothing.
      const third = dave.run(['trust', 'd'.repeat(64), '0.1'], {cwd: store(dave)})
      expect(third.code).toBe(0)
      expect(third.stderr).not.toMatch(/note:/)
    } finally {
      dave.cleanup()
    }
  })
})
