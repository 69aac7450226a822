/** The in-process git index reader agrees with `git ls-files -s` on every index version, and steps aside for split indexes. */
import {chmodSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {readGitIndex} from '../../src/claims/git-index.js'
import {verifyOp} from '../../src/ops/verify.js'
import {gitIn, tempDir, writeFiles} from './helpers.js'

function lsFiles(dir: string): string[] {
  return gitIn(dir, 'ls-files', '-s', '-z')
    .split('\0')
    .filter(Boolean)
    .map((r) => {
      const tab = r.indexOf('\t')
      const [mode, sha] = r.slice(0, tab).split(' ')
      return `${r.slice(tab + 1)} ${mode} ${sha}`
    })
}

function repo(): string {
  const dir = tempDir('steme-git-index-')
  gitIn(dir, 'init', '-q')
  const files: Record<string, string> = {'package.json': '{"name": "x", "version": "1.0.0"}\n', 'a/b/c/deep.txt': 'deep\n', 'a/b/sibling.txt': 's\n', 'ünïcödé/名前.json': '{}\n', '.steme/claims.toml': '[[claim]]\nid = "v"\nsubject = "repo:package"\npredicate = "version"\nexpect = "1.0.0"\n'}
  for (let i = 0; i < 40; i++) files[`src/dir${i % 7}/module-with-a-long-name-${i}.ts`] = `export const x${i} = ${i}\n`
  writeFiles(dir, files)
  chmodSync(join(dir, 'a/b/sibling.txt'), 0o755)
  symlinkSync('package.json', join(dir, 'link.json'))
  gitIn(dir, 'add', '-A')
  writeFiles(dir, {'later.txt': 'intent\n'})
  gitIn(dir, 'add', '-N', 'later.txt') // intent-to-add: an extended-flags entry (index version 3)
  return dir
}

describe('readGitIndex', () => {
  for (const version of ['2', '3', '4']) {
    it(`reads index version ${version} exactly as git ls-files -s lists it`, () => {
      const dir = repo()
      gitIn(dir, 'update-index', '--index-version', version)
      const idx = readGitIndex(join(dir, '.git'))
      expect(idx).toBeDefined()
      const mine = [...idx!.entries.values()].map((e) => `${e.path} ${e.mode} ${e.sha}`)
      expect(mine).toEqual(lsFiles(dir))
      expect(mine.some((l) => l.startsWith('link.json 120000'))).toBe(true)
      expect(mine.some((l) => l.startsWith('a/b/sibling.txt 100755'))).toBe(true)
      // Blob ids of work-tree content match the staged ones.
      const pkg = idx!.entries.get('package.json')!
      expect(idx!.blobId(Buffer.from('{"name": "x", "version": "1.0.0"}\n'))).toBe(pkg.sha)
    })
  }

  it('reads the index of a linked worktree (git worktree add), whose config is in the main git directory', () => {
    const dir = repo()
    gitIn(dir, 'commit', '-qm', 'initial')
    const wt = join(tempDir('steme-git-worktree-'), 'wt')
    gitIn(dir, 'worktree', 'add', '-q', wt)
    writeFiles(wt, {'package.json': '{"name": "x", "version": "3.0.0"}\n'})
    gitIn(wt, 'add', 'package.json')
    const idx = readGitIndex(gitIn(wt, 'rev-parse', '--absolute-git-dir').trim(), {})
    expect(idx).toBeDefined()
    expect([...idx!.entries.values()].map((e) => `${e.path} ${e.mode} ${e.sha}`)).toEqual(lsFiles(wt))
  })

  it('steps aside for a split index (git lists it instead), and verify --staged still sees the staged content', async () => {
    const dir = repo()
    gitIn(dir, 'update-index', '--split-index')
    writeFiles(dir, {'package.json': '{"name": "x", "version": "2.0.0"}\n'})
    gitIn(dir, 'add', 'package.json')
    expect(readGitIndex(join(dir, '.git'))).toBeUndefined()
    const res = await verifyOp({}, {cwd: dir, staged: true})
    expect(res.verdicts[0]).toMatchObject({status: 'CONFLICT'})
    expect(res.verdicts[0].observed[0].value).toBe('2.0.0')
  })

  it('reads the staged version when the work tree differs, whatever the index version', async () => {
    for (const version of ['2', '4']) {
      const dir = repo()
      gitIn(dir, 'update-index', '--index-version', version)
      writeFiles(dir, {'package.json': '{"name": "x", "version": "3.0.0"}\n'}) // not staged
      const res = await verifyOp({}, {cwd: dir, staged: true, cache: false})
      expect(res.verdicts[0]).toMatchObject({status: 'PASS'})
      expect(res.verdicts[0].observed[0].value).toBe('1.0.0')
    }
  })

  it('marks intent-to-add entries (git add -N) in index versions 3 and 4', () => {
    for (const version of ['3', '4']) {
      const dir = repo()
      gitIn(dir, 'update-index', '--index-version', version)
      const idx = readGitIndex(join(dir, '.git'))!
      expect(idx.entries.get('later.txt')).toMatchObject({intentToAdd: true})
      expect([...idx.entries.values()].filter((e) => e.intentToAdd).map((e) => e.path)).toEqual(['later.txt'])
    }
  })

  // git commit leaves an intent-to-add file out; read as its empty placeholder, an absent claim would fail, and JSON would not parse.
  const intentToAdd = (split: boolean) => async () => {
    const dir = repo()
    if (split) gitIn(dir, 'update-index', '--split-index')
    writeFiles(dir, {
      '.steme/claims.toml': '[[claim]]\nid = "no-env"\nsubject = "repo:env"\npredicate = "present"\ncompare = "absent"\n',
      '.env': 'SECRET=1\n',
      'sub/package.json': '{"name": "sub"}\n',
    })
    gitIn(dir, 'add', '.steme/claims.toml')
    gitIn(dir, 'add', '-N', '.env', 'sub/package.json')
    expect(readGitIndex(join(dir, '.git')) === undefined).toBe(split)
    const res = await verifyOp({}, {cwd: dir, staged: true, cache: false})
    expect(res.verdicts[0]).toMatchObject({id: 'no-env', status: 'PASS'})
    expect(res.warnings).toEqual([])
    expect(res.observations!.some((o) => o.file === 'sub/package.json' || o.file === 'later.txt')).toBe(false)
    // The working tree still has them.
    expect((await verifyOp({}, {cwd: dir})).verdicts[0]).toMatchObject({status: 'CONFLICT', failures: [{value: '.env'}]})
    // Once really added, they are staged.
    gitIn(dir, 'add', '.env')
    expect((await verifyOp({}, {cwd: dir, staged: true, cache: false})).verdicts[0]).toMatchObject({status: 'CONFLICT'})
  }
  it('verify --staged leaves intent-to-add files out, as git commit does (index read in-process)', intentToAdd(false))
  it('verify --staged leaves intent-to-add files out, as git commit does (split index, listed by git)', intentToAdd(true))
})
