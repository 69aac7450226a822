import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
let cwd: string
beforeAll(() => {
  sb = sandbox()
  cwd = join(sb.dir, 'work', 'project')
  mkdirSync(cwd, {recursive: true})
})
afterAll(() => sb.cleanup())

/** The `$ steme ...` lines of a help text but its USAGE, as arguments (none of them quotes or needs a shell). */
function examples(help: string): string[][] {
  const text = help.replace(/^USAGE\n(?: .*\n)+/m, '')
  return [...text.matchAll(/^ {2}\$ steme (.+)$/gm)].map((m) => m[1].trim().split(/\s+/))
}

describe('the --help of the first-run commands teaches with examples that run as written', () => {
  // In this order, in one fresh home, as a new user would go: keys first, then a store.
  it.each(['keys generate', 'keys default', 'keys list', 'whoami', 'init'])('steme %s', (cmd) => {
    const words = cmd.split(' ')
    const help = sb.run([...words, '--help'], {cwd})
    expect(help.code).toBe(0)
    const found = examples(help.stdout)
    expect(found.length, `${words.join(' ')} --help has no examples`).toBeGreaterThan(0)
    // A server store needs a server: that example is about the flag, not something to run here.
    for (const args of found.filter((a) => !a.some((w) => w.startsWith('postgres://')))) {
      const r = sb.run(args, {cwd})
      expect(r.code, `steme ${args.join(' ')}: ${r.stderr}`).toBe(0)
      if (args.includes('--json')) JSON.parse(r.stdout)
    }
  })

  it('steme --help starts a new user off with commands that run as written', () => {
    const fresh = sandbox()
    try {
      const help = fresh.run(['--help'])
      const found = examples(help.stdout)
      expect(found.map((a) => a[0])).toEqual(['init', 'assert', 'query', 'whoami'])
      for (const args of found) expect(fresh.run(args).code, args.join(' ')).toBe(0)
      expect(fresh.run(['query', 'drug:aspirin', '--json']).stdout).toContain('"value": 0.002')
      expect(help.stdout).toContain('STEME_KEY')
    } finally {
      fresh.cleanup()
    }
  })
})
