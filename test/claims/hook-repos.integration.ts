/** The hook in the repos developers have: shared hooks directories, hooks that are links, real `git commit`. */
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {claim, GIT_ENV, makeRepo, tempDir} from './helpers.js'

const BIN = resolve(__dirname, '../../bin/run.js')
let env: NodeJS.ProcessEnv

beforeAll(() => {
  if (!existsSync(resolve(__dirname, '../../dist/commands/verify.js'))) throw new Error('build first: npm run build')
  env = {...process.env, ...GIT_ENV, XDG_CONFIG_HOME: tempDir('steme-xdg-'), NO_COLOR: '1'}
  delete env.SKIP
  delete env.STEME_STORE
})

function steme(dir: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {cwd: dir, env: {...env, ...extraEnv}, encoding: 'utf8'})
  return {code: r.status, out: r.stdout, err: r.stderr}
}
function git(dir: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const r = spawnSync('git', args, {cwd: dir, env: {...env, ...extraEnv}, encoding: 'utf8'})
  return {code: r.status, out: r.stdout + r.stderr}
}

const CLAIMS = claim('name', 'repo:package', 'name', 'expect = "app"')

describe('hook install in the repos developers have', () => {
  it('refuses a hooks directory set in the global git config, which every other repo would run', () => {
    const home = tempDir('steme-home-')
    const shared = join(home, 'githooks')
    mkdirSync(shared)
    const gitconfig = join(home, 'gitconfig')
    writeFileSync(gitconfig, `[core]\n\thooksPath = ${shared}\n`)
    const global = {GIT_CONFIG_GLOBAL: gitconfig}
    const withClaims = makeRepo({'package.json': '{"name": "app"}\n', '.steme/claims.toml': CLAIMS}, {git: true})
    const other = makeRepo({'a.txt': 'a\n'}, {git: true})

    for (const args of [['hook', 'install'], ['hook', 'install', '--force']]) {
      const r = steme(withClaims, args, global)
      expect(r.code, r.out + r.err).toBe(2)
      expect(r.err).toContain(`core.hooksPath is set in your global git config (${gitconfig}) to ${shared}`)
      expect(r.err).toContain('git config core.hooksPath')
      expect(existsSync(join(shared, 'pre-commit'))).toBe(false)
    }
    // A repo that keeps no claims still commits.
    writeFileSync(join(other, 'a.txt'), 'b\n')
    expect(git(other, ['commit', '-qam', 'change'], global).code).toBe(0)

    // The way out the hint gives: hooks of the repo's own, which a local core.hooksPath overrides the global one with.
    git(withClaims, ['config', 'core.hooksPath', join(withClaims, '.git', 'hooks')], global)
    const r = steme(withClaims, ['hook', 'install'], global)
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain(join(withClaims, '.git', 'hooks', 'pre-commit'))
    writeFileSync(join(withClaims, 'package.json'), '{"name": "renamed"}\n')
    expect(git(withClaims, ['commit', '-qam', 'rename'], global).code).not.toBe(0)
  })

  it('a relative core.hooksPath in the global config is a directory in each repo, not a shared one: install writes there', () => {
    const gitconfig = join(tempDir('steme-home-'), 'gitconfig')
    writeFileSync(gitconfig, '[core]\n\thooksPath = .githooks\n')
    const global = {GIT_CONFIG_GLOBAL: gitconfig}
    const dir = makeRepo({'package.json': '{"name": "app"}\n', '.steme/claims.toml': CLAIMS}, {git: true})
    const r = steme(dir, ['hook', 'install'], global)
    expect(r.code, r.err).toBe(0)
    expect(existsSync(join(dir, '.githooks', 'pre-commit'))).toBe(true)
    writeFileSync(join(dir, 'package.json'), '{"name": "renamed"}\n')
    expect(git(dir, ['commit', '-qam', 'rename'], global).code).not.toBe(0)
  })

  it('keeps a pre-commit hook that is a link to a file not there yet, and uninstall puts the link back', () => {
    const dir = makeRepo({'package.json': '{"name": "app"}\n', '.steme/claims.toml': CLAIMS}, {git: true})
    const hook = join(dir, '.git', 'hooks', 'pre-commit')
    // As a team's setup script links it to a hook its build produces.
    symlinkSync('../../tools/hooks/pre-commit', hook)

    const refused = steme(dir, ['hook', 'install'])
    expect(refused.code, refused.err).toBe(2)
    expect(refused.err).toContain("already exists and is not steme's hook")
    expect(readlinkSync(hook)).toBe('../../tools/hooks/pre-commit')

    const forced = steme(dir, ['hook', 'install', '--force'])
    expect(forced.code, forced.err).toBe(0)
    expect(forced.out).toContain('it does not run while steme')
    expect(readlinkSync(hook + '.steme-backup')).toBe('../../tools/hooks/pre-commit')
    expect(lstatSync(hook).isSymbolicLink()).toBe(false)

    const un = steme(dir, ['hook', 'uninstall'])
    expect(un.code, un.err).toBe(0)
    expect(readlinkSync(hook)).toBe('../../tools/hooks/pre-commit')
    expect(existsSync(hook + '.steme-backup')).toBe(false)
  })

  it('refuses a commit whose claims file has a string left open, saying where and what to fix', () => {
    const dir = makeRepo({'package.json': '{"name": "app"}\n', '.steme/claims.toml': CLAIMS}, {git: true})
    expect(steme(dir, ['hook', 'install']).code).toBe(0)
    writeFileSync(join(dir, '.steme/claims.toml'), CLAIMS.replace('expect = "app"', 'expect = "app\nwhy = "renaming breaks importers"'))
    const r = git(dir, ['commit', '-qam', 'explain the name claim'])
    expect(r.code).not.toBe(0)
    expect(r.out).toContain('.steme/claims.toml:5:14: not valid TOML: a string is not closed: the line ends before its closing quote (in the staged copy, what the commit would hold)')
    expect(r.out).toContain('add the closing quote')
    expect(git(dir, ['rev-list', '--count', 'HEAD']).out.trim()).toBe('1')
  })

  it('a claims file committed as a link: verify reads through it, the hook says the commit holds only the link and how to fix it', () => {
    const dir = makeRepo({'package.json': '{"name": "app"}\n', 'config/claims.toml': CLAIMS}, {git: true})
    mkdirSync(join(dir, '.steme'))
    symlinkSync('../config/claims.toml', join(dir, '.steme/claims.toml'))
    expect(steme(dir, ['hook', 'install']).code).toBe(0)
    expect(steme(dir, ['verify']).code).toBe(0)
    git(dir, ['add', '.steme/claims.toml'])
    const r = git(dir, ['commit', '-qm', 'share the claims'])
    expect(r.code).not.toBe(0)
    expect(r.out).toContain('the staged claims file .steme/claims.toml is a symbolic link: the commit would hold the link, not the claims')
    expect(r.out).toContain('put the file itself at .steme/claims.toml')
    // Doing what the hint says lets the commit through.
    const fix = spawnSync('/bin/sh', ['-c', 'cp --remove-destination "$(readlink -f .steme/claims.toml)" .steme/claims.toml && git add .steme/claims.toml'], {cwd: dir, env, encoding: 'utf8'})
    expect(fix.status, fix.stderr).toBe(0)
    const ok = git(dir, ['commit', '-qm', 'the claims themselves'])
    expect(ok.code, ok.out).toBe(0)
  })

  it('a work tree kept apart from its repository (git --git-dir --work-tree, as dotfiles setups do): install, verify and the hook find it', () => {
    const repo = join(tempDir('steme-bare-'), 'repo.git')
    expect(spawnSync('git', ['init', '-q', '--bare', repo], {env}).status).toBe(0)
    const work = tempDir('steme-worktree-')
    writeFileSync(join(work, 'package.json'), '{"name": "app"}\n')
    mkdirSync(join(work, '.steme'))
    writeFileSync(join(work, '.steme/claims.toml'), CLAIMS)
    const apart = {GIT_DIR: repo, GIT_WORK_TREE: work}
    expect(git(work, ['add', '-A'], apart).code).toBe(0)
    const inst = steme(work, ['hook', 'install'], apart)
    expect(inst.code, inst.err).toBe(0)
    expect(inst.out).toContain(join(repo, 'hooks', 'pre-commit'))
    // From a subdirectory too, as git itself works there.
    mkdirSync(join(work, 'sub'))
    const v = steme(join(work, 'sub'), ['verify', '--staged', '--json'], apart)
    expect(v.code, v.err).toBe(0)
    expect(JSON.parse(v.out)).toMatchObject({root: work, verdicts: [{id: 'name', status: 'PASS'}]})
    const good = git(work, ['commit', '-qm', 'first'], apart)
    expect(good.code, good.out).toBe(0)
    writeFileSync(join(work, 'package.json'), '{"name": "renamed"}\n')
    const bad = git(work, ['commit', '-qam', 'rename'], apart)
    expect(bad.code).not.toBe(0)
    expect(bad.out).toContain('✗ name (error)')
    expect(git(work, ['rev-list', '--count', 'HEAD'], apart).out.trim()).toBe('1')
  })

  it('a repo with the hook and no claims file: the refused commit says how to keep claims, and how to stop', () => {
    const dir = makeRepo({'a.txt': 'a\n'}, {git: true})
    expect(steme(dir, ['hook', 'install']).code).toBe(0)
    writeFileSync(join(dir, 'a.txt'), 'b\n')
    const r = git(dir, ['commit', '-qam', 'change'])
    expect(r.code).not.toBe(0)
    expect(r.out).toContain(`no claims file at .steme/claims.toml in ${dir}`)
    expect(r.out).toContain('add a claim with `steme claims add`')
    // --claims is no way out of a hook; removing the hook is.
    expect(r.out).not.toContain('--claims')
    expect(r.out).toContain('if this repo keeps no claims, remove the pre-commit hook first (`steme hook uninstall`), then commit')
    expect(steme(dir, ['hook', 'uninstall']).code).toBe(0)
    expect(git(dir, ['commit', '-qam', 'change']).code).toBe(0)
  })

  it('a claims file under a gitignored .steme/: claims add and the hook say git ignores it, and `git add -f` as the way to commit it', () => {
    const dir = makeRepo({'.gitignore': '.steme/\n', '.nvmrc': '20\n'}, {git: true})
    const add = steme(dir, ['claims', 'add', '--id', 'node', '--subject', 'repo:node', '--predicate', 'version', '--expect', '20', '--compare', 'gte'])
    expect(add.code, add.err).toBe(0)
    expect(add.err).toContain('warning: git ignores .steme/claims.toml (.gitignore:1: .steme/), so no commit holds these claims')
    expect(add.err).toContain('`git add -f .steme/claims.toml`')
    expect(steme(dir, ['hook', 'install']).code).toBe(0)
    // Plain `git add`, as the warning used to say, is refused for an ignored file.
    expect(git(dir, ['add', '.steme/claims.toml']).code).not.toBe(0)
    writeFileSync(join(dir, '.nvmrc'), '22\n')
    const r = git(dir, ['commit', '-qam', 'node 22'])
    expect(r.code, r.out).toBe(0)
    expect(r.out).toContain("the claims file .steme/claims.toml is not staged, so the commit would not hold it: checking against the working tree's copy (`git add -f .steme/claims.toml` to commit it: git ignores it (.gitignore:1: .steme/)")
    // What it says works: the claims are committed, and the warning is gone.
    expect(git(dir, ['add', '-f', '.steme/claims.toml']).code).toBe(0)
    const c = git(dir, ['commit', '-qm', 'keep the claims'])
    expect(c.code, c.out).toBe(0)
    expect(c.out).not.toContain('not staged')
    expect(git(dir, ['ls-files', '.steme']).out.trim()).toBe('.steme/claims.toml')
  })

  it('a claims file a gitignore rule takes back (`!.steme/claims.toml`) is not called ignored: plain `git add` commits it', () => {
    const dir = makeRepo({'.gitignore': '.steme/*\n!.steme/claims.toml\n', '.nvmrc': '20\n'}, {git: true})
    const add = steme(dir, ['claims', 'add', '--id', 'node', '--subject', 'repo:node', '--predicate', 'version', '--expect', '20', '--compare', 'gte'])
    expect(add.code, add.err).toBe(0)
    expect(add.err).not.toContain('ignores')
    expect(steme(dir, ['hook', 'install']).code).toBe(0)
    writeFileSync(join(dir, '.nvmrc'), '22\n')
    const r = git(dir, ['commit', '-qam', 'node 22'])
    expect(r.code, r.out).toBe(0)
    expect(r.out).toContain("checking against the working tree's copy (`git add .steme/claims.toml` to commit it)")
    expect(git(dir, ['add', '.steme/claims.toml']).code).toBe(0)
  })

  it('a named pipe in the work tree is passed over, not opened and waited on: verify and the hook finish', () => {
    const todo = '[[claim]]\nid = "no-todo"\nsubject = "repo:code"\npredicate = "todos"\nexpect = 0\n\n[[extract]]\nfiles = "**/*.js"\nregex = "TODO"\ncount = true\nsubject = "repo:code"\npredicate = "todos"\n'
    const dir = makeRepo({'a.js': 'x()\n', 'b.js': '// TODO\n', '.steme/claims.toml': todo}, {git: true})
    // An untracked FIFO, as a dev server or a log tee leaves one; and a tracked file replaced by one.
    execFileSync('mkfifo', [join(dir, 'pipe.js')])
    rmSync(join(dir, 'b.js'))
    execFileSync('mkfifo', [join(dir, 'b.js')])
    // Bounded, so that a hang fails the test instead of stalling the run (status null: killed).
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], {cwd: dir, env, encoding: 'utf8', timeout: 30_000})
    const wt = run(['verify', '--json'])
    expect(wt.status, wt.stderr).toBe(0)
    expect(JSON.parse(wt.stdout).verdicts[0]).toMatchObject({status: 'PASS'})
    // The index still holds b.js with its TODO: --staged reads that from the object store.
    const staged = run(['verify', '--staged', '--no-cache', '--json'])
    expect(staged.status, staged.stderr).toBe(1)
    expect(JSON.parse(staged.stdout).verdicts[0]).toMatchObject({status: 'CONFLICT', observed: [{value: 1}]})
  })

  it('`!glob` in a files list leaves those files out, so vendored code does not block a commit', () => {
    const scan = (files: string) => `[[claim]]\nid = "no-todo"\nsubject = "repo:code"\npredicate = "todos"\nexpect = 0\n\n[[extract]]\nfiles = ${files}\nregex = "TODO"\ncount = true\nsubject = "repo:code"\npredicate = "todos"\n`
    const dir = makeRepo({'src/a.js': 'x()\n', 'vendor/lib.js': '// TODO upstream\n', 'package-lock.json': '{"TODO": 1}\n', '.steme/claims.toml': scan('["**/*", "!vendor/**", "!package-lock.json"]')}, {git: true})
    expect(steme(dir, ['hook', 'install']).code).toBe(0)
    writeFileSync(join(dir, 'src/a.js'), 'y()\n')
    const ok = git(dir, ['commit', '-qam', 'change a'])
    expect(ok.code, ok.out).toBe(0)
    // What is not excluded still counts.
    writeFileSync(join(dir, 'src/a.js'), '// TODO\n')
    expect(git(dir, ['commit', '-qam', 'todo in a']).code).not.toBe(0)
    git(dir, ['checkout', '--', 'src/a.js'])
    const counted = (files: string) => {
      writeFileSync(join(dir, '.steme/claims.toml'), scan(files))
      const r = steme(dir, ['verify', '--json'])
      return JSON.parse(r.out).verdicts[0].observed[0].value as number
    }
    // Exclusions only: every file but those.
    expect(counted('["!vendor/**", "!package-lock.json"]')).toBe(0)
    expect(counted('"!vendor/**"')).toBe(1)
    expect(counted('["**/*.js", "!vendor/**"]')).toBe(0)
    expect(counted('["**/*.js"]')).toBe(1)
  })
})
