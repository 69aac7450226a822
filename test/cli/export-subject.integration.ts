/** export --subject carries what decides the subject's answers: ingested into a fresh store, it answers as the original does. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {initHash} from '../../src/core/hash.js'
import {queryOp} from '../../src/ops/query.js'
import {openRuntime} from '../../src/runtime.js'
import {sandbox, type Sandbox} from '../helpers/cli.js'

const BOB = {STEME_KEY: '22'.repeat(32)}
const CAROL = {STEME_KEY: '33'.repeat(32)}
const LENSES = ['recency', 'confidence', 'consensus', 'votes', 'trust', 'skeptic', 'epoch', 'epoch:current, then trust, else recency']

let sb: Sandbox
const fresh = () => join(sb.dir, `fresh-${Math.random().toString(36).slice(2)}`)
/**
 * The store's answers about a subject through every lens: winners, states and scores (`now` aside, the same inputs give the same output).
 * Asked as `steme query <subject> --lens <lens> --json` asks them (the same runtime, read-only, the
 * same op), in this process: eight spawns of bin/run.js per call were most of this file's time.
 */
async function answers(subject: string, store = join(sb.dir, '.steme')): Promise<unknown> {
  const rt = await openRuntime({store, env: sb.env, cwd: sb.dir, readOnly: true, dbThreads: 1})
  try {
    const out = []
    for (const lens of LENSES) {
      const r = await queryOp(rt, {subject, lens})
      out.push({lens, resolutions: r.resolutions, candidates: r.candidates})
    }
    // As --json prints them: what JSON leaves out (undefined fields) is not compared.
    return JSON.parse(JSON.stringify(out))
  } finally {
    await rt.close()
  }
}
function ingestInto(file: string): string {
  const dir = fresh()
  expect(sb.run(['init', '--dir', dir]).code).toBe(0)
  const store = join(dir, '.steme')
  const r = sb.run(['ingest', file, '--store', store])
  expect(r.code, r.stderr).toBe(0)
  return store
}
const id = (args: string[], env?: NodeJS.ProcessEnv) => {
  const r = sb.run(args, {env})
  expect(r.code, r.stderr).toBe(0)
  return r.stdout.trim()
}
const kinds = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l).kind as string)

beforeAll(async () => {
  await initHash()
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
})
afterAll(() => sb.cleanup())

describe('steme export --subject', () => {
  it('a subject with no assertions (a typo, most often) is said on stderr, to a file or to stdout', () => {
    id(['assert', 't:typo-target', 'p', '1'])
    id(['trust', '44'.repeat(32), '0.5'])
    const out = sb.run(['export', '--subject', 't:typo-targte'])
    expect(out.code).toBe(0)
    expect(kinds(out.stdout)).not.toContain('assertion')
    expect(out.stderr).toBe("note: no assertions about t:typo-targte: the export holds only the store's trust and epoch records (and their retractions)\n")
    const file = sb.run(['export', '--subject', 't:typo-targte', '-o', join(sb.dir, 'typo.ndjson')])
    expect(file.stderr).toContain('note: no assertions about t:typo-targte')
    expect(sb.run(['export', '--subject', 't:typo-target']).stderr).toBe('')
  })

  it('a subject whose every assertion is retracted stays retracted after export and ingest elsewhere', async () => {
    const base = id(['assert', 't:base', 'q', 'x'])
    id(['assert', 't:z', 'p', 'A', '--source', 'doi:bad'])
    const b = id(['assert', 't:z', 'p', 'B'], BOB)
    id(['assert', 't:z', 'p', 'C', '--evidence', base], CAROL)
    id(['retract', '--source', 'doi:bad'])
    id(['retract', b], BOB)
    id(['retract', base])
    expect(sb.json<{resolutions: Array<{winner?: unknown}>}>(['query', 't:z', 'p']).resolutions[0].winner).toBeUndefined()
    const r = sb.run(['export', '--subject', 't:z', '-o', join(sb.dir, 'tz.ndjson')])
    expect(r.code, r.stderr).toBe(0)
    const store = ingestInto(join(sb.dir, 'tz.ndjson'))
    expect(await answers('t:z', store)).toEqual(await answers('t:z'))
  })

  it('carries votes and their retractions, supersession (across subjects too), trust and epochs: every lens answers the same', async () => {
    const [bob, carol] = [BOB, CAROL].map((env) => JSON.parse(sb.run(['whoami', '--json'], {env}).stdout).agent as string)
    expect(bob).toMatch(/^[0-9a-f]{64}$/)
    // Trust decides whose retractions count: bob's of carol's assertion only through alice's trust in him.
    id(['trust', bob, '0.9'])
    id(['trust', carol, '0.2'], BOB)
    id(['epoch', 'e2', '--starts', '2020-01-01'])
    const a1 = id(['assert', 't:w', 'q', '1', '--confidence', '0.6', '--epoch', 'e2'])
    const b2 = id(['assert', 't:w', 'q', '2', '--confidence', '0.9'], BOB)
    const c2 = id(['assert', 't:w', 'q', '2', '--confidence', '0.7', '--epoch', 'e2'], CAROL)
    const b3 = id(['assert', 't:w', 'q', '3', '--supersedes', b2], BOB)
    // Supersession reaches across subjects: bob replaces his t:w answer with one about t:elsewhere.
    id(['assert', 't:elsewhere', 'q', '9', '--supersedes', b3], BOB)
    const c4 = id(['assert', 't:w', 'r', '4', '--source', 'doi:old'], CAROL)
    id(['assert', 't:w', 'r', '5', '--evidence', c4])
    id(['retract', c2, '--reason', 'bad sample'], BOB)
    id(['vote', a1, 'up'])
    const v = id(['vote', c4, 'up'], BOB)
    id(['vote', a1, 'down'], CAROL)
    id(['retract', v], BOB)
    // Noise elsewhere that does not bear on t:w, and is left out.
    id(['assert', 't:other', 'q', 'x', '--evidence', a1])
    id(['retract', '--source', 'doi:unrelated'])

    const text = sb.run(['export', '--subject', 't:w']).stdout
    // Its own assertions first, then what bears on them: no record about another subject but the ones they derive from.
    expect(kinds(text).slice(0, 6)).toEqual(Array(6).fill('assertion'))
    expect(text).not.toContain('t:other')
    expect(text).not.toContain('doi:unrelated')
    writeFileSync(join(sb.dir, 'tw.ndjson'), text)
    const store = ingestInto(join(sb.dir, 'tw.ndjson'))
    const here = await answers('t:w')
    expect(await answers('t:w', store)).toEqual(here)
    // The answers do depend on those records: without them, the copy answers differently.
    const bare = sb.run(['export', '--subject', 't:w']).stdout.split('\n').filter((l) => l.includes('"kind":"assertion"') && l.includes('"subject":"t:w"'))
    writeFileSync(join(sb.dir, 'bare.ndjson'), bare.join('\n') + '\n')
    expect(await answers('t:w', ingestInto(join(sb.dir, 'bare.ndjson')))).not.toEqual(here)
    // About 35 steme processes: 10-20 s on a quiet 2-core machine, over 40 s beside other test files on a busy one.
  }, 240_000)

  it('--since brings what bears on the subject since then, even on older assertions: incremental exports keep a copy in step', async () => {
    const x = id(['assert', 't:inc', 'p', 'X'])
    id(['assert', 't:inc', 'p', 'Y', '--confidence', '0.5'], BOB)
    const first = sb.run(['export', '--subject', 't:inc']).stdout
    writeFileSync(join(sb.dir, 'inc1.ndjson'), first)
    const copy = ingestInto(join(sb.dir, 'inc1.ndjson'))
    const mark = first.trim().split('\n').map((l) => JSON.parse(l).hlc as string).sort().pop()!
    id(['retract', x])
    const next = sb.run(['export', '--subject', 't:inc', '--since', mark]).stdout
    // Only the newer record: the retraction of an assertion stamped before the mark.
    expect(kinds(next)).toEqual(['retract'])
    writeFileSync(join(sb.dir, 'inc2.ndjson'), next)
    expect(sb.run(['ingest', join(sb.dir, 'inc2.ndjson'), '--store', copy]).code).toBe(0)
    expect(await answers('t:inc', copy)).toEqual(await answers('t:inc'))
  })
})
