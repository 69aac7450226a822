/** `npm run demo`, the first thing a new user runs: it passes, and every command it prints can be copied into a shell. */
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {expect, it} from 'vitest'

const DEMO = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url))

/** The arguments a POSIX shell makes of a command line, without running it. */
function shellWords(line: string): string[] {
  const r = spawnSync('sh', ['-c', `set -f; for a in ${line}; do printf '%s\\0' "$a"; done`], {encoding: 'utf8'})
  expect(r.status, r.stderr).toBe(0)
  return r.stdout.split('\0').slice(0, -1)
}

it('the demo runs to the end, printing commands a shell reads as they were run', {timeout: 180_000}, () => {
  const r = spawnSync(process.execPath, [DEMO], {env: {PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1'}, encoding: 'utf8'})
  expect(r.status, r.stdout + r.stderr).toBe(0)
  expect(r.stdout).toContain('demo finished: every step behaved as expected')
  const commands = [...r.stdout.matchAll(/^\$ steme (.*?)(?: {3}# (.+))?$/gm)]
  expect(commands.length).toBeGreaterThan(10)
  for (const [, , title] of commands) expect(title?.trim(), 'every step says what it shows').toBeTruthy()
  const words = commands.filter(([, line]) => !line.includes(' | ')).map(([, line]) => shellWords(line))
  const lens = words.find((w) => w.includes('--lens') && w.includes('--explain') && w.some((a) => a.startsWith('source:')))
  expect(lens).toEqual(['query', 'drug:aspirin', 'bleeding_rate', '--lens', 'source:doi:*, then consensus, else recency', '--explain'])
  const retract = words.find((w) => w[0] === 'retract')
  expect(retract).toEqual(['retract', '--source', 'url:https://example.org/health-blog', '--reason', 'not peer reviewed'])
  // Each step shows what its title says: the output up to the next step's command line.
  const shown = (title: RegExp) => {
    const at = r.stdout.split(/^(?=\$ steme )/m).find((s) => title.test(s.split('\n')[0]))
    expect(at, `a step titled ${title}`).toBeDefined()
    return at!
  }
  // tls_min_version is "1.2" until mid-2025 and "1.3" after: a timeline, not a contested pair.
  const contested = shown(/the most contested questions/)
  expect(contested).toMatch(/^drug:aspirin +bleeding_rate +1\.00 /m)
  expect(contested).not.toContain('tls_min_version')
  expect(shown(/what was derived from it falls too/)).toMatch(/retracted 1 assertion directly, 1 derived/)
  expect(shown(/why the derived conclusion fell/)).toMatch(/is retracted because all 1 of its evidence is retracted:\n +d3a0d44f2504 cites source "url:https:\/\/example\.org\/health-blog"/)
  // Before the retraction the blog's figure, the latest, was the answer.
  expect(shown(/before the retraction/)).toMatch(/^bleeding_rate +0\.02 /m)
  expect(shown(/now trust decides/)).toMatch(/0\.002 has the most trust behind it/)
})
