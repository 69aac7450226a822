/** Real git, real hook, real `git commit`: the pre-commit path end to end through the built CLI. */
import {spawnSync} from 'node:child_process'
import {cpSync, existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {claim, GIT_ENV, gitIn, makeRepo, writeFiles, tempDir} from './helpers.js'

const BIN = resolve(__dirname, '../../bin/run.js')
let env: NodeJS.ProcessEnv

beforeAll(() => {
  if (!existsSync(resolve(__dirname, '../../dist/commands/verify.js'))) throw new Error('build first: npm run build')
  env = {...process.env, ...GIT_ENV, XDG_CONFIG_HOME: tempDir('steme-xdg-'), NO_COLOR: '1', STEME_STORE: ''}
  delete env.SKIP
  delete env.STEME_STORE
})

function steme(dir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {cwd: dir, env, encoding: 'utf8'})
  return {code: r.status, out: r.stdout, err: r.stderr}
}
function git(dir: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const r = spawnSync('git', args, {cwd: dir, env: {...env, ...extraEnv}, encoding: 'utf8'})
  return {code: r.status, out: r.stdout + r.stderr}
}
const commits = (dir: string) => git(dir, ['rev-list', '--count', 'HEAD']).out.trim()

const CLAIMS = claim('name', 'repo:package', 'name', 'expect = "app"\nwhy = "other repos depend on the package name"') + claim('node', 'repo:node', 'version', 'expect = 20\ncompare = "gte"\nseverity = "warn"')

let template: string | undefined
/**
 * A repo with the claims committed and steme's hooks installed. Made (git init, commit, `hook install`)
 * once per file and copied for each test that asks: the hooks name the CLI, not the repo, so a copy is
 * the same repo the set-up would make, and each test still gets one of its own.
 */
function repoWithHook(): string {
  if (!template) {
    template = makeRepo({'package.json': '{\n  "name": "app"\n}\n', '.nvmrc': '20\n', '.steme/claims.toml': CLAIMS}, {git: true})
    const r = steme(template, 'hook', 'install')
    expect(r.code, r.err).toBe(0)
  }
  const dir = tempDir()
  cpSync(template, dir, {recursive: true})
  return dir
}

describe('pre-commit hook', () => {
  it('refuses a commit that breaks an error claim, with a readable message', () => {
    const dir = repoWithHook()
    writeFiles(dir, {'package.json': '{\n  "name": "renamed"\n}\n'})
    git(dir, ['add', 'package.json'])
    const r = git(dir, ['commit', '-m', 'rename the package'])
    expect(r.code).not.toBe(0)
    expect(r.out).toContain('✗ name (error): repo:package name: expected "app", observed "renamed" at package.json:2')
    expect(r.out).toContain('why: other repos depend on the package name')
    expect(r.out).toContain('the commit is refused')
    expect(commits(dir)).toBe('1')
  })

  it('lets a commit through that breaks only a warn claim', () => {
    const dir = repoWithHook()
    writeFiles(dir, {'.nvmrc': '18\n'})
    git(dir, ['add', '.nvmrc'])
    const r = git(dir, ['commit', '-m', 'older node'])
    expect(r.code, r.out).toBe(0)
    expect(r.out).toContain('! node (warn)')
    expect(commits(dir)).toBe('2')
  })

  it('judges the staged content, not the working tree', () => {
    const dir = repoWithHook()
    writeFiles(dir, {'package.json': '{"name": "renamed"}\n'})
    git(dir, ['add', 'package.json'])
    writeFiles(dir, {'package.json': '{"name": "app"}\n'})
    expect(steme(dir, 'verify').code).toBe(0)
    const staged = steme(dir, 'verify', '--staged', '--json')
    expect(staged.code).toBe(1)
    expect(JSON.parse(staged.out).verdicts[0]).toMatchObject({id: 'name', status: 'CONFLICT', failures: [{value: 'renamed'}]})
    expect(git(dir, ['commit', '-m', 'staged rename']).code).not.toBe(0)
    // And the other way round: a bad working tree does not block a good staged state.
    git(dir, ['add', 'package.json'])
    writeFiles(dir, {'package.json': '{"name": "broken"}\n'})
    expect(git(dir, ['commit', '--allow-empty', '-m', 'fine']).code).toBe(0)
  })

  it('honours SKIP=steme-verify', () => {
    const dir = repoWithHook()
    writeFiles(dir, {'package.json': '{"name": "renamed"}\n'})
    git(dir, ['add', 'package.json'])
    const r = git(dir, ['commit', '-m', 'skip it'], {SKIP: 'lint, steme-verify'})
    expect(r.code, r.out).toBe(0)
    expect(r.out).toContain('SKIP=steme-verify is set')
  })

  it('in baseline mode passes old failures and fails new ones', () => {
    const dir = makeRepo({'package.json': '{"name": "legacy"}\n', '.nvmrc': '20\n', '.steme/claims.toml': CLAIMS}, {git: true})
    expect(steme(dir, 'verify').code).toBe(1)
    const up = steme(dir, 'verify', '--update-baseline')
    expect(up.code).toBe(0)
    expect(up.out).toContain(`baseline written to ${join(dir, '.steme/claims-baseline.json')} (1 accepted failure)\n`)
    const baseline = JSON.parse(readFileSync(join(dir, '.steme/claims-baseline.json'), 'utf8'))
    expect(Object.keys(baseline.claims)).toEqual(['name'])
    expect(steme(dir, 'hook', 'install').code).toBe(0)
    git(dir, ['add', '.steme/claims-baseline.json'])
    expect(git(dir, ['commit', '-m', 'adopt steme with a baseline']).code).toBe(0)
    writeFiles(dir, {'.steme/claims.toml': CLAIMS + claim('private', 'repo:package', 'private', 'expect = true')})
    git(dir, ['add', '.steme/claims.toml'])
    const r = git(dir, ['commit', '-m', 'a new claim that fails'])
    expect(r.code).not.toBe(0)
    expect(r.out).toMatch(/✗ private \(error\)/)
    expect(r.out).toMatch(/name \(error\) \[in baseline\]/)
  })

  it('judges a commit by the baseline it holds: staged edits count, unstaged ones do not, and a deletion is a deletion', () => {
    const dir = makeRepo({'package.json': '{"name": "legacy"}\n', '.nvmrc': '20\n', '.steme/claims.toml': CLAIMS}, {git: true})
    const accepted = '.steme/claims-baseline.json'
    expect(steme(dir, 'verify', '--update-baseline').code).toBe(0)
    const acceptName = readFileSync(join(dir, accepted), 'utf8')
    expect(steme(dir, 'hook', 'install').code).toBe(0)
    // Not added yet: used, as a claims file not yet added is, and the hook says the commit does not hold it.
    writeFiles(dir, {'.nvmrc': '21\n'})
    git(dir, ['add', '.nvmrc'])
    const unstaged = git(dir, ['commit', '-m', 'newer node'])
    expect(unstaged.code, unstaged.out).toBe(0)
    expect(unstaged.out).toContain(`warning: the baseline ${accepted} is not staged, so the commit would not hold it`)
    git(dir, ['add', accepted])
    expect(git(dir, ['commit', '-m', 'adopt steme with a baseline']).code).toBe(0)

    // An edit to the baseline that is not staged does not change the verdict on a commit that leaves it out.
    writeFiles(dir, {[accepted]: '{"version": 1, "claims": {}}\n', '.nvmrc': '22\n'})
    git(dir, ['add', '.nvmrc'])
    const kept = git(dir, ['commit', '-m', 'newer node again'])
    expect(kept.code, kept.out).toBe(0)
    expect(kept.out).toMatch(/name \(error\) \[in baseline\]/)
    // Staged, it does.
    git(dir, ['add', accepted])
    writeFiles(dir, {[accepted]: acceptName})
    const dropped = git(dir, ['commit', '-m', 'drop the baseline entry'])
    expect(dropped.code).not.toBe(0)
    expect(dropped.out).toMatch(/✗ name \(error\)/)

    // A commit that deletes the baseline is judged without it, whatever copy the working tree keeps.
    git(dir, ['reset', '-q', '--', accepted])
    expect(git(dir, ['rm', '-q', '--cached', accepted]).code).toBe(0)
    const deleted = git(dir, ['commit', '-m', 'untrack the baseline'])
    expect(deleted.code).not.toBe(0)
    expect(deleted.out).toContain(`warning: the baseline ${accepted} is deleted in the index, so the commit removes it`)
    expect(deleted.out).toMatch(/✗ name \(error\)/)
    expect(commits(dir)).toBe('4')
  })

  it('refuses a commit that untracks the claims file (git rm --cached), whatever the copy left on disk says, until the hook is uninstalled', () => {
    const dir = repoWithHook()
    const file = '.steme/claims.toml'
    expect(git(dir, ['rm', '-q', '--cached', file]).code).toBe(0)
    // The copy left in the working tree passes: it is not what the commit holds, so it does not let the commit through.
    expect(steme(dir, 'verify').code).toBe(0)
    const v = steme(dir, 'verify', '--staged')
    expect(v.code).toBe(2)
    const r = git(dir, ['commit', '-m', 'untrack the claims'])
    expect(r.code).not.toBe(0)
    for (const out of [v.err, r.out]) {
      expect(out).toContain(`error: the commit deletes the claims file ${file} (in the last commit, not in the index), so there are no claims to check it against: the copy left in the working tree is not part of it`)
      expect(out).toContain(`hint: to keep the claims, stage the file again: \`git add ${file}\`; to stop keeping claims in this repo, remove the pre-commit hook first (\`steme hook uninstall\`), then commit`)
    }
    expect(commits(dir)).toBe('1')
    // Either way on works: staged again, the file is judged as usual...
    git(dir, ['add', file])
    expect(git(dir, ['commit', '--allow-empty', '-m', 'keep the claims']).code).toBe(0)
    // ...or, meaning it, the hook goes first and the deletion is committed.
    git(dir, ['rm', '-q', '--cached', file])
    expect(steme(dir, 'hook', 'uninstall').code).toBe(0)
    expect(git(dir, ['commit', '-m', 'stop keeping claims']).code).toBe(0)
    expect(git(dir, ['ls-tree', '-r', '--name-only', 'HEAD']).out).not.toContain(file)
    expect(commits(dir)).toBe('3')
  })

  it('refuses a commit that deletes the claims file (git rm, or commit -a after rm), saying how to bring it back', () => {
    const dir = repoWithHook()
    const file = '.steme/claims.toml'
    const refused = (r: {code: number | null; out: string}) => {
      expect(r.code).not.toBe(0)
      expect(r.out).toContain(`error: the commit deletes the claims file ${file} (in the last commit, in neither the index nor the working tree), so there are no claims to check it against`)
      expect(r.out).toContain(`hint: to keep the claims, bring the file back: \`git checkout HEAD -- ${file}\`; to stop keeping claims in this repo, remove the pre-commit hook first`)
    }
    expect(git(dir, ['rm', '-q', file]).code).toBe(0)
    refused(git(dir, ['commit', '-m', 'delete the claims']))
    expect(steme(dir, 'verify', '--staged').code).toBe(2)
    expect(git(dir, ['checkout', 'HEAD', '--', file]).code).toBe(0)
    expect(git(dir, ['commit', '--allow-empty', '-m', 'claims kept']).code).toBe(0)
    // Deleted from the working tree only, the file is still in the index, and commit -a stages its deletion.
    rmSync(join(dir, file))
    writeFiles(dir, {'.nvmrc': '22\n'})
    refused(git(dir, ['commit', '-a', '-m', 'newer node, and no claims']))
    expect(commits(dir)).toBe('2')
  })

  it('judges a commit by the staged claims file when the working tree has none', () => {
    const dir = repoWithHook()
    rmSync(join(dir, '.steme/claims.toml'))
    writeFiles(dir, {'package.json': '{\n  "name": "renamed"\n}\n'})
    git(dir, ['add', 'package.json'])
    const staged = steme(dir, 'verify', '--staged', '--json')
    expect(staged.code).toBe(1)
    expect(JSON.parse(staged.out)).toMatchObject({claimsFrom: 'index', verdicts: [{id: 'name', status: 'CONFLICT'}, {id: 'node', status: 'PASS'}]})
    const r = git(dir, ['commit', '-m', 'rename the package'])
    expect(r.code).not.toBe(0)
    expect(r.out).toContain('✗ name (error): repo:package name: expected "app", observed "renamed" at package.json:2')
    writeFiles(dir, {'package.json': '{\n  "name": "app"\n}\n', '.nvmrc': '22\n'})
    git(dir, ['add', 'package.json', '.nvmrc'])
    expect(git(dir, ['commit', '-m', 'newer node']).code).toBe(0)
    // The commit still holds the claims file: only the working tree lost it.
    expect(git(dir, ['ls-tree', '-r', '--name-only', 'HEAD']).out).toContain('.steme/claims.toml')
    expect(commits(dir)).toBe('2')
  })

  it('leaves intent-to-add files (git add -N) out, as git commit does, and judges them once commit -a stages them', () => {
    const dir = makeRepo({'package.json': '{\n  "name": "app"\n}\n', '.nvmrc': '20\n', '.steme/claims.toml': CLAIMS + claim('no-env', 'repo:env', 'present', 'compare = "absent"')}, {git: true})
    expect(steme(dir, 'hook', 'install').code).toBe(0)
    writeFiles(dir, {'.env': 'SECRET=1\n', '.nvmrc': '22\n'})
    git(dir, ['add', '-N', '.env'])
    git(dir, ['add', '.nvmrc'])
    const r = git(dir, ['commit', '-m', 'newer node'])
    expect(r.code, r.out).toBe(0)
    expect(git(dir, ['ls-tree', '--name-only', 'HEAD']).out).not.toContain('.env')
    // commit -a stages the intent-to-add file's content in the index the hook reads.
    writeFiles(dir, {'.nvmrc': '24\n'})
    const all = git(dir, ['commit', '-a', '-m', 'and the env file'])
    expect(all.code).not.toBe(0)
    expect(all.out).toContain('✗ no-env (error): repo:env present: expected nothing, observed ".env" at .env')
    expect(commits(dir)).toBe('2')
  })

  it('refuses a merge git makes without conflicts when the merged tree breaks a claim, though each branch passed', () => {
    const dir = repoWithHook()
    // One branch adds a claim; the other, forked before it, adds a file that breaks it. Each commit passes.
    git(dir, ['checkout', '-q', '-b', 'claims'])
    writeFiles(dir, {'.steme/claims.toml': CLAIMS + claim('no-env', 'repo:env', 'present', 'compare = "absent"\nwhy = "secrets stay out of git"')})
    git(dir, ['add', '.steme/claims.toml'])
    expect(git(dir, ['commit', '-m', 'no .env in git']).code).toBe(0)
    git(dir, ['checkout', '-q', 'main'])
    writeFiles(dir, {'.env': 'TOKEN=x\n'})
    git(dir, ['add', '.env'])
    expect(git(dir, ['commit', '-m', 'local settings']).code).toBe(0)
    const before = git(dir, ['rev-parse', 'HEAD']).out.trim()
    const r = git(dir, ['merge', '--no-ff', '-m', 'merge the claims', 'claims'])
    expect(r.code, r.out).not.toBe(0)
    expect(r.out).toContain('✗ no-env (error)')
    expect(git(dir, ['rev-parse', 'HEAD']).out.trim()).toBe(before)
    expect(git(dir, ['merge', '--abort']).code).toBe(0)
    // A merge that breaks nothing goes through, and SKIP works for merges as for commits.
    expect(git(dir, ['merge', '--no-ff', '-m', 'merge anyway', 'claims'], {SKIP: 'steme-verify'}).code).toBe(0)
    expect(git(dir, ['rev-parse', 'HEAD^2']).out.trim()).toBe(git(dir, ['rev-parse', 'claims']).out.trim())
  })

  it('installs the merge hook beside the commit hook, leaves a foreign one alone (saying so) unless --force, and uninstall restores it', () => {
    const dir = makeRepo({'.steme/claims.toml': CLAIMS}, {git: true})
    const mergeHook = join(dir, '.git/hooks/pre-merge-commit')
    writeFileSync(mergeHook, '#!/bin/sh\necho my merge check\n', {mode: 0o755})
    const kept = steme(dir, 'hook', 'install', '--json')
    expect(kept.code, kept.err).toBe(0)
    expect(JSON.parse(kept.out).merge).toMatchObject({path: mergeHook, action: 'kept'})
    expect(kept.err).toMatch(/pre-merge-commit is not steme's hook, so merges `git merge` makes without conflicts are not verified: pass --force/)
    expect(readFileSync(mergeHook, 'utf8')).toContain('echo my merge check')
    expect(steme(dir, 'hook', 'uninstall').code).toBe(0)
    expect(readFileSync(mergeHook, 'utf8')).toContain('echo my merge check')
    const forced = steme(dir, 'hook', 'install', '--force')
    expect(forced.code, forced.err).toBe(0)
    expect(forced.out).toContain(`Installed ${mergeHook}`)
    expect(readFileSync(mergeHook, 'utf8')).toContain('steme-verify hook')
    expect(readFileSync(mergeHook + '.steme-backup', 'utf8')).toContain('echo my merge check')
    const un = steme(dir, 'hook', 'uninstall')
    expect(un.code, un.err).toBe(0)
    expect(readFileSync(mergeHook, 'utf8')).toContain('echo my merge check')
    expect(existsSync(mergeHook + '.steme-backup')).toBe(false)
    expect(existsSync(join(dir, '.git/hooks/pre-commit'))).toBe(false)
  })

  it('a repo whose steme pre-commit hook came without the merge hook says once per run that merges are not verified, until `hook install` adds it', () => {
    const dir = repoWithHook()
    const mergeHook = join(dir, '.git/hooks/pre-merge-commit')
    // As a steme from before the merge hook left it: its pre-commit hook alone.
    rmSync(mergeHook)
    writeFiles(dir, {'README.md': 'hello\n'})
    git(dir, ['add', 'README.md'])
    const r = git(dir, ['commit', '-m', 'a commit the hook passes'])
    expect(r.code, r.out).toBe(0)
    const note = /merges `git merge` makes without conflicts are not verified here: steme's pre-commit hook is installed but not its pre-merge-commit hook, which git runs for them instead; run `steme hook install` to add it/g
    expect(r.out.match(note)).toHaveLength(1)
    const json = steme(dir, 'verify', '--staged', '--json')
    expect(json.code, json.err).toBe(0)
    expect(JSON.parse(json.out).warnings).toEqual([expect.stringMatching(note)])
    expect(json.err.match(note)).toHaveLength(1)
    // An old hook without the digest reads as edited: install replaces it only with --force.
    const pre = join(dir, '.git/hooks/pre-commit')
    writeFileSync(pre, readFileSync(pre, 'utf8').replace(/^# steme-verify hook sha256:[0-9a-f]+$/m, '# steme-verify hook'), {mode: 0o755})
    expect(steme(dir, 'verify').err).toContain('run `steme hook install --force` (your current pre-commit hook is kept beside it) to add it')
    expect(steme(dir, 'hook', 'install', '--force').code).toBe(0)
    expect(existsSync(mergeHook)).toBe(true)
    const after = steme(dir, 'verify', '--staged', '--json')
    expect(after.code, after.err).toBe(0)
    expect(JSON.parse(after.out).warnings).toEqual([])
    expect(after.err).not.toContain('not verified')
  })

  it('a fresh clone without the store: the refused commit says the claim needs the store and how to get one', () => {
    const origin = makeRepo({'package.json': '{"name": "app"}\n', '.steme/claims.toml': claim('owner', 'service:app', 'owner', 'expect = "team-a"')}, {git: true})
    expect(steme(origin, 'init').code).toBe(0)
    expect(steme(origin, 'assert', 'service:app', 'owner', 'team-a').code).toBe(0)
    expect(steme(origin, 'verify').code).toBe(0)
    const dir = join(tempDir('steme-clone-'), 'clone')
    expect(git(origin, ['clone', '-q', origin, dir]).code).toBe(0)
    expect(steme(dir, 'hook', 'install').code).toBe(0)
    writeFiles(dir, {'README.md': 'hello\n'})
    git(dir, ['add', 'README.md'])
    const r = git(dir, ['commit', '-m', 'first commit of a new teammate'])
    expect(r.code).not.toBe(0)
    expect(r.out).toContain('✗ owner (error): service:app owner: no observation (no store to consult)')
    expect(r.out).toContain('warning: claim owner: only the steme store can answer it, and this repo has none')
    expect(r.out).toContain('run `steme init` at the repo root, then `steme pull <remote>`')
    const json = steme(dir, 'verify', '--staged', '--json')
    expect(json.code).toBe(1)
    expect(JSON.parse(json.out).warnings).toEqual([expect.stringContaining('claim owner: only the steme store can answer it')])
    // A claim files answer, or one the store answers once there is a store, brings no such warning.
    expect(steme(dir, 'init').code).toBe(0)
    expect(steme(dir, 'assert', 'service:app', 'owner', 'team-a').code).toBe(0)
    const ok = git(dir, ['commit', '-m', 'with a store'])
    expect(ok.code, ok.out).toBe(0)
    expect(ok.out).not.toContain('only the steme store')
  })

  it('refuses a commit whose private key sits in a file too large to scan: the scan is UNCHECKED, not passed', () => {
    const claims =
      '[settings]\nmax_file_bytes = 4096\n\n' +
      claim('no-keys', 'repo:secrets', 'private_keys', 'expect = 0\nwhy = "keys never go in git"') +
      '\n[[extract]]\nfiles = ["**/*", "!.steme/**"]\nregex = "BEGIN (?:RSA|EC) PRIVATE KEY"\ncount = true\nsubject = "repo:secrets"\npredicate = "private_keys"\n'
    const dir = makeRepo({'.steme/claims.toml': claims, 'a.txt': 'hello\n'}, {git: true})
    expect(steme(dir, 'hook', 'install').code).toBe(0)
    writeFiles(dir, {'dump.sql': '-- BEGIN RSA PRIVATE KEY\n' + 'x'.repeat(8000) + '\n'})
    git(dir, ['add', 'dump.sql'])
    const r = git(dir, ['commit', '-m', 'a database dump'])
    expect(r.code).not.toBe(0)
    expect(r.out).toMatch(/UNCHECKED\s+error\s+no-keys/)
    expect(r.out).toContain('could not read dump.sql, which is 8026 bytes, over the 4096-byte bound (settings.max_file_bytes)')
    expect(r.out).toContain('raise settings.max_file_bytes, or leave the file out with a "!" glob in its files')
    expect(commits(dir)).toBe('1')
    const json = JSON.parse(steme(dir, 'verify', '--staged', '--json').out)
    // A warm run (the refused commit's run cached every file, the skip included) says the same.
    expect(json.cache.hits).toBeGreaterThan(0)
    expect(json.verdicts[0]).toMatchObject({id: 'no-keys', status: 'UNCHECKED', fails: true, unchecked: {by: 'extract#1', file: 'dump.sql', cause: 'too_large'}})
    // Raised, the file is read and the key found; a small file with none lets the commit through.
    writeFiles(dir, {'.steme/claims.toml': claims.replace('max_file_bytes = 4096', 'max_file_bytes = 65536')})
    git(dir, ['add', '.steme/claims.toml'])
    const found = git(dir, ['commit', '-m', 'a database dump, read'])
    expect(found.code).not.toBe(0)
    expect(found.out).toContain('✗ no-keys (error): repo:secrets private_keys: expected 0, observed 1 at dump.sql:1')
    writeFiles(dir, {'dump.sql': '-- no keys\n'})
    git(dir, ['add', 'dump.sql'])
    const ok = git(dir, ['commit', '-m', 'a clean dump'])
    expect(ok.code, ok.out).toBe(0)
  })

  it('an uninstall refused for an edited commit hook leaves the merge hook in place too', () => {
    const dir = repoWithHook()
    const hook = join(dir, '.git/hooks/pre-commit')
    const mergeHook = join(dir, '.git/hooks/pre-merge-commit')
    writeFileSync(hook, readFileSync(hook, 'utf8') + 'echo my own check\n')
    const un = steme(dir, 'hook', 'uninstall')
    expect(un.code).toBe(2)
    expect(un.err).toMatch(/pre-commit is steme's hook, edited since steme wrote it .*; leaving it alone, with the edits/)
    // Nothing was changed, as the error says: merges are still verified.
    expect(readFileSync(mergeHook, 'utf8')).toContain('steme-verify hook')
    expect(readFileSync(hook, 'utf8')).toContain('echo my own check')
  })

  it('refuses to overwrite a foreign hook without --force, and uninstall restores it', () => {
    const dir = makeRepo({'.steme/claims.toml': CLAIMS}, {git: true})
    const hook = join(dir, '.git/hooks/pre-commit')
    writeFileSync(hook, '#!/bin/sh\necho mine\n', {mode: 0o755})
    const refused = steme(dir, 'hook', 'install')
    expect(refused.code).toBe(2)
    expect(refused.err).toMatch(/already exists and is not steme's hook/)
    expect(readFileSync(hook, 'utf8')).toContain('echo mine')
    expect(steme(dir, 'hook', 'install', '--force').code).toBe(0)
    expect(readFileSync(hook, 'utf8')).toContain('steme-verify hook')
    expect(readFileSync(hook + '.steme-backup', 'utf8')).toContain('echo mine')
    expect(steme(dir, 'hook', 'install').code).toBe(0) // updating our own hook needs no --force
    const un = steme(dir, 'hook', 'uninstall')
    expect(un.code).toBe(0)
    expect(readFileSync(hook, 'utf8')).toContain('echo mine')
    expect(existsSync(hook + '.steme-backup')).toBe(false)
    expect(steme(dir, 'hook', 'uninstall').code).toBe(2) // the foreign hook is left alone
  })

  it('blocks the commit with exit 2 and a line and column when the claims file is broken', () => {
    const dir = repoWithHook()
    writeFiles(dir, {'.steme/claims.toml': CLAIMS + '[[claim]]\nid = \n'})
    const v = steme(dir, 'verify')
    expect(v.code).toBe(2)
    expect(v.err).toMatch(/\.steme\/claims\.toml:\d+:\d+: not valid TOML/)
    git(dir, ['add', '.steme/claims.toml'])
    expect(git(dir, ['commit', '-m', 'broken claims']).code).not.toBe(0)
  })
})

describe('verify output formats', () => {
  it('writes SARIF with its required fields and exits 1 on a failing error claim', () => {
    const dir = makeRepo({'package.json': '{"name": "x"}\n', '.steme/claims.toml': CLAIMS}, {git: true})
    const r = steme(dir, 'verify', '--format', 'sarif')
    expect(r.code).toBe(1)
    const sarif = JSON.parse(r.out)
    expect(sarif.version).toBe('2.1.0')
    expect(sarif.runs[0].tool.driver.name).toBe('steme')
    expect(sarif.runs[0].results[0]).toMatchObject({ruleId: 'name', level: 'error', message: {text: expect.stringContaining('expected "app"')}})
  })

  it('writes JUnit XML', () => {
    const dir = makeRepo({'package.json': '{"name": "x"}\n', '.steme/claims.toml': CLAIMS}, {git: true})
    const r = steme(dir, 'verify', '--format', 'junit')
    expect(r.code).toBe(1)
    expect(r.out).toContain('<testsuites name="steme verify" tests="2" failures="1"')
  })

  it('refuses --json with another --format (usage, exit 2), naming both and what to use', () => {
    const dir = makeRepo({'package.json': '{"name": "app"}\n', '.steme/claims.toml': CLAIMS}, {git: true})
    for (const args of [['--json', '--format', 'junit'], ['--format=sarif', '--json'], ['--format', 'table', '--json']]) {
      const r = steme(dir, 'verify', ...args)
      expect(r.code, args.join(' ')).toBe(2)
      const format = args.join(' ').match(/(junit|sarif|table)/)![1]
      expect(r.err).toContain(`error: --json and --format ${format} ask for different outputs: --json is --format json`)
      expect(r.err).toMatch(new RegExp(`hint: drop --json to get .+, or --format ${format} to get the JSON report`))
    }
    // The same output twice is no conflict.
    const same = steme(dir, 'verify', '--json', '--format', 'json')
    expect(same.code).toBe(0)
    expect(JSON.parse(same.out).summary).toMatchObject({claims: 2})
    // STEME_CONTENT_TYPE=json is --json too, for oclif: said so rather than printing two documents.
    const r = spawnSync(process.execPath, [BIN, 'verify', '--format', 'junit'], {cwd: dir, env: {...env, STEME_CONTENT_TYPE: 'json'}, encoding: 'utf8'})
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('error: STEME_CONTENT_TYPE=json asks for the JSON report and --format junit for JUnit XML')
    expect(r.stdout).not.toContain('<testsuites')
  })

  it('--fail-on-warn fails on warn claims', () => {
    const dir = makeRepo({'package.json': '{"name": "app"}\n', '.nvmrc': '18\n', '.steme/claims.toml': CLAIMS}, {git: true})
    expect(steme(dir, 'verify').code).toBe(0)
    expect(steme(dir, 'verify', '--fail-on-warn').code).toBe(1)
  })
})

describe('claims commands', () => {
  it('add, list, explain and coverage', () => {
    const dir = makeRepo({'package.json': '{"name": "app", "version": "1.0.0"}\n'}, {git: true})
    const add = steme(dir, 'claims', 'add', '--id', 'name', '--subject', 'repo:package', '--predicate', 'name', '--expect', 'app', '--why', 'depended upon')
    expect(add.code, add.err).toBe(0)
    expect(readFileSync(join(dir, '.steme/claims.toml'), 'utf8')).toBe('[[claim]]\nid = "name"\nsubject = "repo:package"\npredicate = "name"\nexpect = "app"\nwhy = "depended upon"\n')
    expect(steme(dir, 'claims', 'add', '--id', 'name', '--subject', 's', '--predicate', 'p', '--expect', '1').code).toBe(2)
    expect(steme(dir, 'claims', 'add', '--id', 'v', '--subject', 'repo:package', '--predicate', 'version', '--expect', '2', '--compare', 'gte').code).toBe(0)
    const list = JSON.parse(steme(dir, 'claims', 'list', '--json').out)
    expect(list.claims.map((c: {id: string; status: string}) => [c.id, c.status])).toEqual([['name', 'PASS'], ['v', 'CONFLICT']])
    const md = steme(dir, 'claims', 'explain').out
    expect(md).toContain('## repo:package')
    expect(md).toContain('- **Why:** depended upon')
    const cov = JSON.parse(steme(dir, 'coverage', '--json').out)
    expect(cov.total).toMatchObject({observations: 2, claimed: 2})
  })

  it('explain in a shallow clone does not credit the commit the history stops at with older claims', () => {
    const origin = makeRepo({'package.json': '{"name": "app", "version": "1.0.0"}\n', '.steme/claims.toml': claim('name', 'repo:package', 'name', 'expect = "app"')}, {git: true})
    git(origin, ['commit', '--allow-empty', '-qm', 'unrelated work'], {GIT_AUTHOR_NAME: 'Someone Else'})
    writeFiles(origin, {'.steme/claims.toml': claim('name', 'repo:package', 'name', 'expect = "app"') + claim('v', 'repo:package', 'version', 'expect = "1.0.0"')})
    git(origin, ['commit', '-qam', 'claim the version'], {GIT_AUTHOR_NAME: 'Vera Version'})
    const full = steme(origin, 'claims', 'explain').out
    expect(full).toMatch(/`\.steme\/claims\.toml:1`, written by Test Author on \d{4}-\d\d-\d\d in [0-9a-f]{10} \(“initial”\)/)
    const dir = join(tempDir('steme-shallow-'), 'clone')
    expect(git(origin, ['clone', '-q', '--depth', '2', `file://${origin}`, dir]).code).toBe(0)
    const md = steme(dir, 'claims', 'explain').out
    // The name claim is older than the clone's history: it is not Someone Else's, whose commit the history stops at.
    expect(md).not.toContain('Someone Else')
    expect(md).toMatch(/`\.steme\/claims\.toml:1`, written in [0-9a-f]{10} \(“unrelated work”\) or before it: this clone's history stops there \(`git fetch --unshallow` for the rest\)/)
    // The version claim was written inside the history the clone has: its author is known.
    expect(md).toMatch(/`\.steme\/claims\.toml:\d+`, written by Vera Version on \d{4}-\d\d-\d\d in [0-9a-f]{10} \(“claim the version”\)/)
  })

  it('coverage before the first claim: no claims file is 0% covered, every observation a candidate for `claims add`', () => {
    const dir = makeRepo({'package.json': '{"name": "app", "version": "1.0.0"}\n', 'web/.nvmrc': '20\n'}, {git: true})
    const res = steme(dir, 'coverage', '--json')
    expect(res.code, res.err).toBe(0)
    const cov = JSON.parse(res.out)
    expect(cov.total).toEqual({observations: 3, claimed: 0, ratio: 0})
    expect(cov.rows.find((r: {dir: string}) => r.dir === '.').unclaimed).toEqual(expect.arrayContaining(['repo:package name', 'repo:package version']))
    expect(cov.notes).toEqual([expect.stringContaining('no claims file at .steme/claims.toml yet, so nothing is claimed')])
    expect(res.err).toContain('note: no claims file at .steme/claims.toml yet')
    const table = steme(dir, 'coverage')
    expect(table.code).toBe(0)
    expect(table.out).toMatch(/\(total\)\s+3\s+0\s+0%/)
    // The index has no claims file either: the same before a commit.
    gitIn(dir, 'add', '-A')
    expect(JSON.parse(steme(dir, 'coverage', '--staged', '--json').out).total).toMatchObject({observations: 3, claimed: 0})
    // A file the user names must be there.
    const named = steme(dir, 'coverage', '--claims', 'other.toml')
    expect(named.code).toBe(2)
    expect(named.err).toContain('no claims file at other.toml')
  })

  it('list and explain mark the failures the baseline accepts, and the claims it lists that pass now', () => {
    const claims = CLAIMS + claim('ver', 'repo:package', 'version', 'expect = "1.0.0"') + claim('priv', 'repo:package', 'private', 'expect = true\nseverity = "warn"')
    const dir = makeRepo({'package.json': '{"name": "legacy", "version": "1.0.0"}\n', '.nvmrc': '20\n', '.steme/claims.toml': claims}, {git: true})
    // No baseline: nothing said about one.
    expect(JSON.parse(steme(dir, 'claims', 'list', '--json').out).baseline).toBeUndefined()
    expect(steme(dir, 'claims', 'list').out).not.toContain('BASELINE')
    expect(steme(dir, 'verify', '--update-baseline').code).toBe(0) // accepts name (CONFLICT) and priv (MISSING)
    writeFiles(dir, {'package.json': '{"name": "legacy", "version": "2.0.0", "private": true}\n'})
    const list = JSON.parse(steme(dir, 'claims', 'list', '--json').out)
    expect(list.claims.map((c: {id: string; status: string; baseline?: string}) => [c.id, c.status, c.baseline])).toEqual([
      ['name', 'CONFLICT', 'known'],
      ['node', 'PASS', undefined],
      ['ver', 'CONFLICT', 'new'],
      ['priv', 'PASS', 'fixed'],
    ])
    expect(list.baseline.path).toBe(join(dir, '.steme/claims-baseline.json'))
    const table = steme(dir, 'claims', 'list').out
    expect(table).toMatch(/^ID\s+STATUS\s+.*\bBASELINE$/m)
    expect(table).toMatch(/^name\s+CONFLICT\*\s+error\s.*\saccepted$/m)
    expect(table).toMatch(/^ver\s+CONFLICT\s+error\s.*\snew$/m)
    expect(table).toMatch(/^priv\s+PASS\s+warn\s.*\sfixed$/m)
    expect(table).toContain('* accepted in the baseline .steme/claims-baseline.json (verify does not fail on these)')
    const md = steme(dir, 'claims', 'explain').out
    expect(md).toContain('Status as of this rendering: 2 of 4 pass. The baseline `.steme/claims-baseline.json` accepts 1 failure (`steme verify` does not fail on it).')
    expect(md).toMatch(/### name\n\n(?:- .*\n)*?- \*\*Status:\*\* \*\*CONFLICT\*\*: .*\n- \*\*Baseline:\*\* this failure is accepted in `\.steme\/claims-baseline\.json`/)
    expect(md).toMatch(/### priv\n\n(?:- .*\n)*?- \*\*Status:\*\* PASS: .*\n- \*\*Baseline:\*\* listed in `\.steme\/claims-baseline\.json`, and passes now/)
    expect(md.match(/\*\*Baseline:\*\*/g)).toHaveLength(2)
    expect(JSON.parse(steme(dir, 'claims', 'explain', '--json').out).baseline).toMatchObject({known: ['name'], fixed: ['priv']})
    // --baseline names another one, as for verify.
    writeFiles(dir, {'ci-baseline.json': JSON.stringify({version: 1, claims: {ver: {status: 'CONFLICT', severity: 'error', message: 'accepted in CI'}}})})
    const other = JSON.parse(steme(dir, 'claims', 'list', '--json', '--baseline', 'ci-baseline.json').out)
    expect(other.claims.filter((c: {baseline?: string}) => c.baseline).map((c: {id: string; baseline: string}) => [c.id, c.baseline])).toEqual([['name', 'new'], ['ver', 'known']])
    expect(steme(dir, 'claims', 'explain', '--baseline', 'ci-baseline.json').out).toContain('The baseline `ci-baseline.json` accepts 1 failure')
  })

  it('list and explain say what verify warns about, as verify does', () => {
    const dir = makeRepo({'package.json': '{"name": "app",\n', '.nvmrc': '20\n', '.steme/claims.toml': CLAIMS}, {git: true})
    const warning = /warning: package\.json: could not be read as package\.json \(.*\): skipped/
    expect(steme(dir, 'verify').err).toMatch(warning)
    const list = steme(dir, 'claims', 'list')
    expect(list.err).toMatch(warning)
    expect(list.out).toMatch(/^name\s+MISSING/m)
    const json = JSON.parse(steme(dir, 'claims', 'list', '--json').out)
    expect(json.warnings).toHaveLength(1)
    expect(`warning: ${json.warnings[0]}`).toMatch(warning)
    expect(steme(dir, 'claims', 'explain').err).toMatch(warning)
    expect(JSON.parse(steme(dir, 'claims', 'explain', '--json').out).warnings).toEqual(json.warnings)
    // Nothing to warn about: no warnings key.
    writeFiles(dir, {'package.json': '{"name": "app"}\n'})
    expect(JSON.parse(steme(dir, 'claims', 'list', '--json').out).warnings).toBeUndefined()
    expect(steme(dir, 'claims', 'list').err).toBe('')
  })

  it('--record stores observations and verdicts as signed assertions', () => {
    const dir = makeRepo({'package.json': '{"name": "app"}\n', '.steme/claims.toml': claim('name', 'repo:package', 'name', 'expect = "app"')}, {git: true})
    expect(steme(dir, 'init').code).toBe(0)
    const r = steme(dir, 'verify', '--record')
    expect(r.code, r.err).toBe(0)
    expect(r.err).toMatch(/recorded 1 observation and 1 verdict/)
    const q = JSON.parse(steme(dir, 'query', 'claim:name', 'verdict', '--json').out)
    expect(q.resolutions[0].winner.value).toMatchObject({status: 'PASS', observed: ['app']})
    const records = steme(dir, 'export').out.trim().split('\n').map((l) => JSON.parse(l))
    const observation = records.find((r) => r.subject === 'repo:package')
    const verdict = records.find((r) => r.subject === 'claim:name')
    expect(observation).toMatchObject({predicate: 'name', value: 'app', source: 'file:package.json#L1', agent: verdict.agent})
    expect(verdict.evidence).toEqual([observation.id])
    expect(verdict.sig).toMatch(/^[0-9a-f]{128}$/)
  })
})

describe('what verify loads', () => {
  it('does not load DuckDB when the files answer every claim, even with a store present', () => {
    const dir = makeRepo({'package.json': '{"name": "app"}\n', '.steme/claims.toml': claim('name', 'repo:package', 'name', 'expect = "app"')}, {git: true})
    expect(steme(dir, 'init').code).toBe(0)
    const detector = join(dir, 'detect.cjs')
    writeFileSync(detector, "process.on('exit', () => process.stderr.write('duckdb loaded: ' + Object.keys(require.cache).some((k) => k.includes('@duckdb')) + '\\n'))\n")
    const run = () => spawnSync(process.execPath, ['--require', detector, BIN, 'verify', '--staged'], {cwd: dir, env, encoding: 'utf8'})
    const light = run()
    expect(light.status).toBe(0)
    expect(light.stderr).toContain('duckdb loaded: false')
    // A claim only the store can answer does load it: the detector sees the difference.
    writeFiles(dir, {'.steme/claims.toml': claim('owner', 'service:app', 'owner', 'expect = "team-a"\nfrom = "store"')})
    git(dir, ['add', '.steme/claims.toml'])
    const heavy = run()
    expect(heavy.stderr).toContain('duckdb loaded: true')
    expect(heavy.stdout).toMatch(/MISSING\s+error\s+owner/)
  })
})
