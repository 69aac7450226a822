/** --threads and --db-threads refuse absurd counts (more than 4 per core) with exit 2, before any work. */
import {availableParallelism} from 'node:os'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {maxThreads} from '../../src/threads-flag.js'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
beforeAll(() => {
  sb = sandbox('steme-threads-')
  expect(sb.run(['init', '--dir', 'a']).code).toBe(0)
})
afterAll(() => sb?.cleanup())

describe('thread-count flags', () => {
  const over = String(4 * availableParallelism() + 1)
  for (const args of [
    ['pull', 'a', '--store', 'a', '--threads', over],
    ['ingest', '-', '--store', 'a', '--threads', over],
    ['migrate', '--from', 'a', '--to', 'b', '--threads', over],
    ['serve', '--store', 'a', '--threads', over],
    ['serve', '--store', 'a', '--db-threads', over],
    ['sync-serve', '--store', 'a', '--http', '0', '--db-threads', over],
  ]) {
    it(`${args[0]} ${args.at(-2)} ${over}: exit 2, naming the bound`, () => {
      const r = sb.run(args)
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(`${over} threads is more than 4 per core (at most ${maxThreads()} on this machine`)
      // One line, naming the flag first.
      expect(r.stderr.startsWith(`error: ${args.at(-2)}: ${over} threads is more than`), r.stderr).toBe(true)
    })
  }

  it('the bound itself is accepted', () => {
    const r = sb.run(['pull', './a', '--store', 'a', '--threads', String(maxThreads())])
    expect(r.code, r.stderr).toBe(0)
  })
})
