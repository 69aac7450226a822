/** `steme conflicts` without --limit prints the ranking as it reads it back from disk: the same text, table and --json, as the whole result printed at once. */
import {spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {initHash} from '../../src/core/hash.js'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'
import {assertion, stamp, testKey} from '../helpers/records.js'

describe('conflicts without a limit', () => {
  let sb: Sandbox
  beforeAll(async () => {
    await initHash()
    sb = sandbox('steme-conflicts-list-')
    expect(sb.run(['init', '--dir', sb.dir]).code).toBe(0)
    // More pairs than one batch of the listing (1,024), of several scores, with names of several widths.
    // Each rival value from its own agent, signed here: ingest keeps signed records as they are.
    const lines: string[] = []
    for (let i = 0; i < 1500; i++) {
      const subject = `s:${'x'.repeat(i % 70)}${i}`
      const predicate = i % 5 ? 'p' : 'release date'
      for (let k = 0; k < 2 + (i % 3); k++) {
        const a = assertion({subject, predicate, value: k === 0 ? 'a' : `value ${k}`, confidence: 0.5 + ((i + k) % 4) / 10, hlc: stamp(1_700_000_000_000 + i, k)}, testKey(1 + ((i + k) % 5)))
        lines.push(JSON.stringify(a.record))
      }
    }
    writeFileSync(join(sb.dir, 'facts.ndjson'), lines.join('\n') + '\n')
    expect(sb.run(['ingest', 'facts.ndjson']).code).toBe(0)
  })
  afterAll(() => sb.cleanup())

  it('prints the table and the JSON of the whole ranking, byte for byte as with a limit above it', () => {
    for (const extra of [[], ['--lens', 'recency'], ['--min-score', '0.9']]) {
      const whole = sb.run(['conflicts', '-n', '100000', ...extra])
      const listed = sb.run(['conflicts', ...extra])
      expect(whole.code).toBe(0)
      expect(listed.code).toBe(0)
      expect(listed.stdout.split('\n').length).toBeGreaterThan(extra.length ? 2 : 1400)
      expect(listed.stdout, extra.join(' ')).toBe(whole.stdout)
      const wholeJson = sb.run(['conflicts', '-n', '100000', '--json', ...extra])
      const listedJson = sb.run(['conflicts', '--json', ...extra])
      expect(listedJson.stdout, extra.join(' ')).toBe(wholeJson.stdout)
      expect(JSON.parse(listedJson.stdout).conflicts.length).toBe(JSON.parse(wholeJson.stdout).conflicts.length)
    }
  })

  it('prints an empty ranking as before', () => {
    for (const json of [[], ['--json']]) {
      const whole = sb.run(['conflicts', '-n', '5', '--as-of', '2001-01-01', ...json])
      const listed = sb.run(['conflicts', '--as-of', '2001-01-01', ...json])
      expect(listed.stdout).toMatch(json.length ? /"conflicts": \[\]/ : /^no contested pairs among 0/)
      expect(listed).toEqual(whole)
    }
  })

  it('ends at once, exit 0 and quiet, when its reader closes the pipe', async () => {
    const r = await new Promise<{code: number | null; stderr: string; first: string}>((resolve) => {
      const p = spawn(process.execPath, [BIN, 'conflicts'], {cwd: sb.dir, env: sb.env})
      let stderr = ''
      let first = ''
      p.stderr.on('data', (d) => (stderr += d))
      p.stdout.once('data', (d) => {
        first = String(d)
        p.stdout.destroy()
      })
      p.on('close', (code) => resolve({code, stderr, first}))
    })
    expect(r.first).toMatch(/^contested pairs/)
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''})
  })
})
