import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

// A private seed, as a user might paste it into --key (or --name) instead of STEME_KEY.
const SEED = '3f'.repeat(16) + 'a1b2c3d4'.repeat(4)

let sb: Sandbox
beforeAll(() => {
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
})
afterAll(() => sb.cleanup())

/** The seed, in either case, anywhere in what the run printed. */
const leaks = (r: {stdout: string; stderr: string}): boolean => (r.stdout + r.stderr).toLowerCase().includes(SEED.toLowerCase())

describe('a private seed given where a key name belongs is never printed', () => {
  it('whoami --key <seed>: exit 2, says --key takes a name and a seed goes in STEME_KEY', () => {
    for (const seed of [SEED, SEED.toUpperCase()]) {
      for (const json of [[], ['--json']]) {
        const r = sb.run(['whoami', '--key', seed, ...json])
        expect(r.code).toBe(2)
        expect(leaks(r)).toBe(false)
        expect(r.stderr).toContain('error: --key takes the name of a key, and this looks like a private key seed')
        expect(r.stderr).toContain('STEME_KEY')
      }
    }
  })

  it('every command that signs with --key refuses it the same way', () => {
    // ingest refuses it before reading anything, as the others do.
    for (const [args, code] of [[['assert', 's', 'p', '1'], 2], [['ingest', '-'], 2], [['retract', 'f'.repeat(64)], 2], [['epoch', 'e1', '--starts', '2026-01-01'], 2]] as const) {
      const r = sb.run([...args, '--key', SEED], {input: '{"subject":"s","predicate":"p","value":1}\n'})
      expect(leaks(r), `steme ${args[0]}`).toBe(false)
      expect(r.stderr, `steme ${args[0]}`).toContain('--key takes the name of a key')
      expect(r.code, `steme ${args[0]}`).toBe(code)
    }
  })

  it('a --key that is not a valid name at all is not echoed either', () => {
    const odd = `${SEED} trailing`
    const r = sb.run(['whoami', '--key', odd])
    expect(r.code).toBe(2)
    expect(leaks(r)).toBe(false)
    expect(r.stderr).toContain('is not a valid key name (it contains a space); it is not printed')
  })

  it('keys generate --name <seed> is refused without printing it, and makes no key', () => {
    const r = sb.run(['keys', 'generate', '--name', SEED])
    expect(r.code).toBe(2)
    expect(leaks(r)).toBe(false)
    expect(r.stderr).toContain('the shape of a private key seed')
    expect(leaks(sb.run(['keys', 'list']))).toBe(false)
  })

  it('a seed pasted a few digits short is refused as a --name and a --key too, without printing it; a short hex name is fine', () => {
    for (const short of [SEED.slice(0, 63), SEED.slice(0, 40), SEED.slice(0, 32)]) {
      const made = sb.run(['keys', 'generate', '--name', short])
      expect(made.code, short.length.toString()).toBe(2)
      expect(made.stderr).toContain('the shape of a private key seed')
      expect(made.stdout + made.stderr).not.toContain(short)
      const used = sb.run(['whoami', '--key', short])
      expect(used.code).toBe(2)
      expect(used.stdout + used.stderr).not.toContain(short)
    }
    expect(sb.run(['keys', 'list']).stdout).not.toContain(SEED.slice(0, 32))
    expect(sb.run(['keys', 'generate', '--name', 'deadbeef']).code).toBe(0)
  })

  it('a seed typed as a command, a flag or a stray argument is not echoed in the usage error', () => {
    for (const args of [[SEED], ['keys', SEED], ['whoami', `--${SEED}`], ['whoami', SEED], ['keys', 'list', SEED.toUpperCase()]]) {
      for (const json of [[], ['--json']]) {
        const r = sb.run([...args, ...json])
        expect(r.code, args.join(' ')).toBe(2)
        expect(leaks(r), args.join(' ')).toBe(false)
        expect(r.stderr).toContain('<64 hex digits, not printed: it may be a private key>')
      }
    }
  })

  it('a real key name still works, and an unknown one is named', () => {
    expect(sb.run(['whoami', '--key', 'default']).code).toBe(0)
    const r = sb.run(['whoami', '--key', 'nope'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('no key named "nope"')
    // ingest with an unknown --key stops before it stores anything.
    const before = sb.json<{records: number}>(['stats']).records
    const ing = sb.run(['ingest', '-', '--key', 'nope'], {input: '{"subject":"s","predicate":"p","value":2}\n'})
    expect(ing.code).toBe(2)
    expect(ing.stderr).toContain('no key named "nope"')
    expect(sb.json<{records: number}>(['stats']).records).toBe(before)
  })
})
