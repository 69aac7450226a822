/** A runaway regex extractor is stopped at its time budget (on the built CLI's worker thread) instead of hanging verify and the commit. */
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {resolve} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {claim, GIT_ENV, makeRepo, tempDir} from './helpers.js'

const BIN = resolve(__dirname, '../../bin/run.js')
let env: NodeJS.ProcessEnv

beforeAll(() => {
  if (!existsSync(resolve(__dirname, '../../dist/claims/regex-worker.js'))) throw new Error('build first: npm run build')
  env = {...process.env, ...GIT_ENV, XDG_CONFIG_HOME: tempDir('steme-xdg-'), NO_COLOR: '1'}
  delete env.STEME_STORE
})

// Backtracks for hours on a line of a's that does not end the way the regex wants.
const RUNAWAY = 'a'.repeat(40) + '!\n'

describe('regex time budget', () => {
  it('stops a regex that runs over the budget, warns naming the extractor and file, and observes nothing from it', () => {
    const dir = makeRepo(
      {
        'data/a.txt': 'aaaa\n',
        'data/b.txt': RUNAWAY,
        'data/c.txt': RUNAWAY,
        'version.txt': 'v=1.2.3\n',
        '.steme/claims.toml': [
          claim('no-runs', 'repo:data', 'runs', 'expect = 0'),
          claim('version', 'repo:code', 'version', 'expect = "1.2.3"'),
          '[[extract]]\nfiles = "data/*.txt"\nregex = "^(a+)+$"\ncount = true\nsubject = "repo:data"\npredicate = "runs"\n',
          '[[extract]]\nfiles = "version.txt"\nregex = "v=(\\\\S+)"\nsubject = "repo:code"\npredicate = "version"\n',
          '[settings]\nregex_timeout_ms = 300\n',
        ].join('\n'),
      },
      {git: true},
    )
    for (const args of [['verify', '--json'], ['verify', '--staged', '--json']]) {
      // The spawn's own timeout turns a regression (a hang) into a failure rather than a stuck suite.
      const r = spawnSync(process.execPath, [BIN, ...args], {cwd: dir, env, encoding: 'utf8', timeout: 30_000})
      expect(r.signal, r.stderr).toBeNull()
      expect(r.status, r.stderr).toBe(1)
      const report = JSON.parse(r.stdout) as {verdicts: {id: string; status: string}[]; warnings: string[]}
      // A count that misses a file could pass `expect = 0`: the claim is MISSING instead.
      expect(report.verdicts.map((v) => [v.id, v.status])).toEqual([['no-runs', 'MISSING'], ['version', 'PASS']])
      expect(report.warnings).toContainEqual(expect.stringMatching(/extract #1: regex ran over its 300 ms budget on data\/b\.txt .*not run on 1 more file; it observes nothing in this run/))
    }
  })
})
