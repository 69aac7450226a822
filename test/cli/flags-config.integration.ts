/** One flag set across commands, and typos that used to pass silently: --key and STEME_KEY, vote weights, unknown epochs, config.toml, ties. */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
const agents: Record<string, string> = {}
const keyFile = (name: string) => join(sb.dir, 'xdg', 'steme', 'keys', `${name}.key`)
/** The agent that signed a record, from the store. */
const signer = (id: string) => sb.json<{record: {agent: string}}>(['show', id]).record.agent
const assertId = (args: string[]) => {
  const r = sb.run(['assert', ...args])
  expect(r.code, r.stderr).toBe(0)
  return r.stdout.trim()
}

beforeAll(() => {
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
  for (const name of ['bob', 'carol']) expect(sb.run(['keys', 'generate', '--name', name]).code).toBe(0)
  for (const name of ['default', 'bob', 'carol']) agents[name] = sb.json<{agent: string}>(['whoami', '--key', name]).agent
})
afterAll(() => sb.cleanup())

describe('--key on every command that signs, and STEME_KEY taking what --key takes', () => {
  it('vote and trust sign with --key <name>', () => {
    const id = assertId(['s:keys', 'p', '1'])
    const vote = sb.run(['vote', id, 'up', '--key', 'bob'])
    expect(vote.code, vote.stderr).toBe(0)
    expect(signer(vote.stdout.trim())).toBe(agents.bob)
    const trust = sb.run(['trust', agents.bob, '0.5', '--key', 'carol'])
    expect(trust.code, trust.stderr).toBe(0)
    expect(signer(trust.stdout.trim())).toBe(agents.carol)
  })

  it('--key takes a key file path too', () => {
    const r = sb.run(['whoami', '--key', keyFile('carol'), '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).agent).toBe(agents.carol)
    const missing = sb.run(['whoami', '--key', './nope.key'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--key ./nope.key: no such key file')
  })

  it('STEME_KEY=<name> signs as that key, as --key <name> does', () => {
    const r = sb.run(['assert', 's:keys', 'p', '2'], {env: {STEME_KEY: 'bob'}})
    expect(r.code, r.stderr).toBe(0)
    expect(signer(r.stdout.trim())).toBe(agents.bob)
    const who = sb.run(['whoami'], {env: {STEME_KEY: 'carol'}})
    expect({stdout: who.stdout, stderr: who.stderr}).toEqual({stdout: `${agents.carol}\n`, stderr: `key "carol" (${keyFile('carol')}, from STEME_KEY)\n`})
  })

  it('STEME_KEY as a path or a seed still works, for CI', () => {
    const byPath = sb.run(['whoami', '--json'], {env: {STEME_KEY: keyFile('bob')}})
    expect(JSON.parse(byPath.stdout).agent).toBe(agents.bob)
    const seed = JSON.parse(readFileSync(keyFile('carol'), 'utf8')).seed as string
    const bySeed = sb.run(['whoami', '--json'], {env: {STEME_KEY: seed}})
    expect(JSON.parse(bySeed.stdout)).toMatchObject({agent: agents.carol, origin: 'STEME_KEY'})
  })

  it('STEME_KEY that resolves to nothing: exit 2, says which forms it takes, never prints the value', () => {
    const seed = JSON.parse(readFileSync(keyFile('carol'), 'utf8')).seed as string
    const id = assertId(['s:keys', 'p', '3'])
    // A name that is no key, and a seed with a character missing (still a secret).
    for (const value of ['nobody', seed.slice(0, 63)]) {
      const r = sb.run(['vote', id, 'up'], {env: {STEME_KEY: value}})
      const a = sb.run(['assert', 's', 'p', '1', '--json'], {env: {STEME_KEY: value}})
      for (const out of [r, a]) {
        expect(out.code).toBe(2)
        expect(out.stdout + out.stderr).not.toContain(value)
      }
      expect(a.stderr).toContain('STEME_KEY is set but is not a 64-hex-char seed, the name of a key in')
      expect(a.stderr).toContain('its value is not printed')
    }
  })
})

describe('vote takes the weights DESIGN.md defines: 1, -1 and 0', () => {
  it('as synonyms of up, down and withdraw', () => {
    const id = assertId(['s:votes', 'p', '1'])
    for (const [given, weight] of [['1', 1], ['-1', -1], ['0', 0]] as const) {
      const r = sb.run(['vote', id, given, '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout).weight).toBe(weight)
    }
    const bad = sb.run(['vote', id, '2'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('up, down, withdraw, 1, -1, 0')
  })
})

describe('an epoch no record declares gets a note, not an error', () => {
  beforeAll(() => {
    expect(sb.run(['epoch', 'post-2024', '--starts', '2024-01-01']).code).toBe(0)
    expect(sb.run(['epoch', 'pre-2024', '--starts', '2020-01-01']).code).toBe(0)
  })

  it('assert --epoch post2024: stored, with a note naming the closest declared epochs', () => {
    const r = sb.run(['assert', 's:epochs', 'p', '1', '--epoch', 'post2024'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('note: no record declares an epoch named "post2024" (closest known: "post-2024", "pre-2024")')
    expect(sb.json<{record: {epoch: string}}>(['show', r.stdout.trim()]).record.epoch).toBe('post2024')
    const known = sb.run(['assert', 's:epochs', 'p', '2', '--epoch', 'post-2024'])
    expect(known.stderr).not.toContain('declares')
  })

  it('--lens "epoch:nonesuch, then recency": a note on stderr, in --json notes, and in --explain', () => {
    const lens = ['--lens', 'epoch:nonesuch, then recency']
    const r = sb.run(['query', 's:epochs', ...lens, '--explain'])
    expect(r.code, r.stderr).toBe(0)
    const note = 'no record declares an epoch named "nonesuch"'
    expect(r.stderr).toContain(`note: ${note}`)
    expect(r.stdout).toContain(`p: ${note}`)
    const j = sb.json<{notes: string[]}>(['query', 's:epochs', ...lens])
    expect(j.notes[0]).toContain(note)
  })
})

describe('query and conflicts show ties and abstentions as they are', () => {
  beforeAll(() => {
    assertId(['s:tie', 'color', 'red', '--source', 'a'])
    assertId(['s:tie', 'color', 'blue', '--source', 'b'])
  })

  it('a tie-broken winner is marked (tie) in the human table', () => {
    const q = sb.run(['query', 's:tie', '--lens', 'consensus'])
    expect(q.stdout).toMatch(/color\s+"\w+" \(tie\)\s+0\.50/)
    const c = sb.run(['conflicts'])
    expect(c.stdout).toMatch(/s:tie\s+color\s+1\.00\s+2\s+"\w+" \(tie\)/)
    // A decided winner is not.
    expect(sb.run(['query', 's:tie', '--lens', 'recency']).stdout).not.toContain('(tie)')
  })

  it('an abstaining lens counts the values it could not decide between', () => {
    const q = sb.run(['query', 's:tie', '--lens', 'authority'])
    expect(q.stdout).toMatch(/color\s+\(none: abstain\)\s+-\s+1\.00\s+2$/m)
    expect(sb.json<{resolutions: Array<{candidates: unknown[]}>}>(['query', 's:tie', '--lens', 'authority']).resolutions[0].candidates).toHaveLength(2)
  })

  it('counted nouns agree with their number', () => {
    const q = sb.run(['query', 's:tie', '--lens', 'votes', '--explain'])
    expect(q.stdout).toContain(': 1 witness,')
    expect(q.stdout).not.toContain('1 witnesses')
  })
})

describe('config.toml: a typo or a wrong type is refused by every command, naming file, line and setting', () => {
  const file = () => join(sb.dir, '.steme', 'config.toml')
  let original: string
  beforeAll(() => {
    original = readFileSync(file(), 'utf8')
  })

  it('what init writes loads, and so does every documented setting', () => {
    expect(sb.run(['stats']).code).toBe(0)
    try {
      writeFileSync(file(), `${original}\n[serve]\nallow_agents = ["${agents.bob}"]\n\n[remotes]\npeer = "../peer"\n\n[lenses.skeptic]\nthreshold = 0.4\n\n[lenses.authority]\norder = ["a", "self"]\n`)
      const q = sb.run(['query', 's:tie', '--lens', 'skeptic'])
      expect(q.code, q.stderr).toBe(0)
    } finally {
      writeFileSync(file(), original)
    }
  })

  it('misspelt sections and settings, and values of the wrong type', () => {
    const cases: Array<[string, string, string]> = [
      ['[query]', '[qeury]', 'unknown section [qeury]; did you mean [query]?'],
      ['lens = "recency"', 'lense = "trust"', 'unknown setting query.lense; did you mean query.lens?'],
      ['', '\n[lenses.skeptic]\nthreshold = "0.7"\n', 'lenses.skeptic.threshold must be a number in [0, 1], got "0.7"'],
      ['', '\n[lenses.skeptic]\nthreshold = 7\n', 'lenses.skeptic.threshold must be a number in [0, 1], got 7'],
    ]
    try {
      for (const [from, to, message] of cases) {
        const text = from ? original.replace(from, to) : original + to
        writeFileSync(file(), text)
        const changed = text.split('\n').findIndex((l) => l.includes(to.trim().split('\n').pop()!)) + 1
        const line = message.startsWith('unknown section') ? text.split('\n').findIndex((l) => l.includes('[qeury]')) + 1 : changed
        for (const args of [['query', 's:tie'], ['stats'], ['assert', 's', 'p', '1']]) {
          const r = sb.run(args)
          expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2)
          expect(r.stderr).toContain(`error: ${file()}:${line}: ${message}`)
        }
      }
    } finally {
      writeFileSync(file(), original)
    }
  })
})
