import {existsSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it, vi} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {UserError} from '../../src/core/errors.js'
import {seal} from '../../src/core/seal.js'
import {generateKeyPair} from '../../src/core/sign.js'
import {coverageOp} from '../../src/ops/coverage.js'
import {installHookOp} from '../../src/ops/hook.js'
import {verifyOp, type StoreDeps} from '../../src/ops/verify.js'
import {claim, gitIn, makeRepo, writeFiles, tempDir} from './helpers.js'

const TSCONFIG = '{\n  "compilerOptions": {\n    "strict": true,\n    "target": "ES2022"\n  }\n}\n'

describe('verify engine', () => {
  it('decides PASS, CONFLICT and MISSING from built-in and declarative extractors, and lists UNCLAIMED', async () => {
    const dir = makeRepo({
      'tsconfig.json': TSCONFIG,
      '.nvmrc': '18\n',
      'config/app.yaml': 'tls:\n  min_version: "1.2"\n',
      'config/app.toml': '[server]\nport = 8080\n',
      'src/a.ts': 'const a = 1 // TODO one\n// TODO two\n',
      'src/b.ts': 'export {} // TODO three\n',
      'src/version.ts': 'export const VERSION = "2.1.0"\n',
      '.steme/claims.toml': [
        claim('strict', 'repo:tsconfig', 'compilerOptions.strict', 'expect = true'),
        claim('node', 'repo:node', 'version', 'expect = "20"\ncompare = "gte"\nwhy = "we use node 20 APIs"'),
        claim('tls', 'svc:app', 'tls_min', 'expect = "1.3"\ncompare = "gte"'),
        claim('port', 'svc:app', 'port', 'expect = [80, 8080]\ncompare = "in"'),
        claim('todos', 'repo:code', 'todos', 'expect = 5\ncompare = "lte"'),
        claim('version', 'repo:code', 'version', 'expect = "^2\\\\."\ncompare = "matches"'),
        claim('owner', 'repo:meta', 'owner', 'expect = "team-a"\nfrom = "files"'),
        '[[extract]]\nfiles = "config/*.yaml"\nyaml = "tls.min_version"\nsubject = "svc:app"\npredicate = "tls_min"\n',
        '[[extract]]\nfiles = ["config/*.toml"]\ntoml = "server.port"\nsubject = "svc:app"\npredicate = "port"\n',
        '[[extract]]\nfiles = "src/**/*.ts"\nregex = "TODO"\ncount = true\nsubject = "repo:code"\npredicate = "todos"\n',
        '[[extract]]\nfiles = "src/version.ts"\nregex = "VERSION = \\"([^\\"]+)\\""\nsubject = "repo:code"\npredicate = "version"\n',
      ].join('\n'),
    })
    const res = await verifyOp({}, {cwd: dir})
    const by = Object.fromEntries(res.verdicts.map((v) => [v.id, v]))
    expect(by.strict.status).toBe('PASS')
    expect(by.node).toMatchObject({status: 'CONFLICT', fails: true, why: 'we use node 20 APIs'})
    expect(by.node.failures[0]).toMatchObject({value: '18', file: '.nvmrc', line: 1, reason: 'expected >= "20", observed "18"'})
    expect(by.tls.status).toBe('CONFLICT')
    expect(by.tls.failures[0]).toMatchObject({file: 'config/app.yaml', line: 2})
    expect(by.port.status).toBe('PASS')
    expect(by.todos).toMatchObject({status: 'PASS', observed: [{value: 3, files: ['src/a.ts', 'src/b.ts']}]})
    expect(by.version).toMatchObject({status: 'PASS', observed: [{value: '2.1.0', file: 'src/version.ts', line: 1}]})
    expect(by.owner.status).toBe('MISSING')
    expect(res.unclaimed.map((o) => `${o.subject} ${o.predicate}`)).toEqual(['repo:tsconfig compilerOptions.target'])
    expect(res.summary).toMatchObject({claims: 7, pass: 4, conflict: 2, missing: 1, failing: 3})
    expect(res.ok).toBe(false)
    expect(res.store).toBe('unused')
  })

  it('checks a Dockerfile image written with an ARG, and says why it cannot when the ARG has no default', async () => {
    const claims = claim('node', 'repo:docker', 'base_image', 'expect = "^node:20"\ncompare = "matches"')
    const dir = makeRepo({'Dockerfile': 'ARG NODE=20\nFROM node:${NODE}-slim\n', '.steme/claims.toml': claims}, {git: true})
    const res = await verifyOp({}, {cwd: dir, staged: true})
    expect(res.verdicts[0]).toMatchObject({status: 'PASS', observed: [{value: 'node:20-slim', line: 2}]})
    writeFiles(dir, {'Dockerfile': 'ARG NODE\nFROM node:${NODE}-slim\n'})
    gitIn(dir, 'add', 'Dockerfile')
    // The last run takes the Dockerfile's result from the extraction cache, warning included.
    for (const [staged, cache] of [[false, undefined], [true, {hits: 0, misses: 1}], [true, {hits: 1, misses: 0}]] as const) {
      const again = await verifyOp({}, {cwd: dir, staged})
      expect(again.verdicts[0]).toMatchObject({status: 'MISSING'})
      expect(again.cache).toEqual(cache)
      expect(again.warnings).toEqual(['Dockerfile:2: FROM node:${NODE}-slim: $NODE is an ARG with no default, so its value would come from --build-arg (not known offline): skipped'])
    }
  })

  it('exits clean when only warn claims fail, unless fail-on-warn', async () => {
    const dir = makeRepo({'.nvmrc': '18\n', '.steme/claims.toml': claim('node', 'repo:node', 'version', 'expect = 20\ncompare = "gte"\nseverity = "warn"')})
    expect((await verifyOp({}, {cwd: dir})).ok).toBe(true)
    expect((await verifyOp({}, {cwd: dir, failOnWarn: true})).ok).toBe(false)
  })

  it('warns, never crashes, on a glob that matches nothing', async () => {
    const dir = makeRepo({'.steme/claims.toml': '[[extract]]\nfiles = "nowhere/*.json"\njson = "a"\nsubject = "s"\npredicate = "p"\n'})
    const res = await verifyOp({}, {cwd: dir})
    expect(res.warnings.join('\n')).toMatch(/extract #1: files "nowhere\/\*\.json" matched no file/)
  })

  it('reads JSON files that start with a UTF-8 byte order mark, from the tree and from the index', async () => {
    const bom = '\uFEFF'
    const dir = makeRepo(
      {
        'tsconfig.json': bom + TSCONFIG,
        'package.json': bom + '{"name": "app"}\n',
        'conf/app.json': bom + '{"port": 8080}\n',
        '.steme/claims.toml': [
          claim('strict', 'repo:tsconfig', 'compilerOptions.strict', 'expect = true'),
          claim('name', 'repo:package', 'name', 'expect = "app"'),
          claim('port', 'svc:app', 'port', 'expect = 8080'),
          '[[extract]]\nfiles = "conf/app.json"\njson = "port"\nsubject = "svc:app"\npredicate = "port"\n',
        ].join('\n'),
      },
      {git: true},
    )
    const passes = async (staged: boolean) => {
      const res = await verifyOp({}, {cwd: dir, staged, cache: false})
      expect(res.warnings).toEqual([])
      expect(res.verdicts.map((v) => [v.id, v.status])).toEqual([['strict', 'PASS'], ['name', 'PASS'], ['port', 'PASS']])
      expect(res.verdicts[0].observed[0]).toMatchObject({file: 'tsconfig.json', line: 3})
    }
    await passes(false)
    // Work-tree files that differ from the index make --staged read the blobs from the object store.
    writeFiles(dir, {'tsconfig.json': '', 'package.json': '', 'conf/app.json': ''})
    await passes(true)
  })

  it('skips binary files, bounds huge ones, and refuses symlinks out of the repo', async () => {
    const outside = tempDir('steme-outside-')
    writeFileSync(join(outside, 'secret.txt'), 'KEY=leaked\n')
    const dir = makeRepo({
      'data/blob.txt': Buffer.from([75, 69, 89, 61, 0, 1, 2]),
      'data/huge.txt': 'KEY=huge\n' + 'x'.repeat(500),
      'data/ok.txt': 'KEY=fine\n',
      '.steme/claims.toml': '[settings]\nmax_file_bytes = 200\n\n[[extract]]\nfiles = "data/*.txt"\nregex = "KEY=(\\\\w+)"\nsubject = "s"\npredicate = "key"\n',
    })
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'data/link.txt'))
    const res = await verifyOp({}, {cwd: dir})
    // The extractor could not read one of its files, so it observes nothing (see the too-large tests below).
    expect(res.observations!.map((o) => o.value)).toEqual([])
    const skipped = Object.fromEntries(res.skipped.map((s) => [s.path, s.reason]))
    expect(skipped).toEqual({'data/blob.txt': 'binary', 'data/huge.txt': 'too_large', 'data/link.txt': 'symlink'})
    expect(res.warnings.join('\n')).toMatch(/data\/huge\.txt is 509 bytes, over the 200-byte bound/)
    expect(res.warnings.join('\n')).toMatch(/data\/link\.txt is a symbolic link/)
  })

  it('refuses a file reached through a symlinked directory', async () => {
    const outside = tempDir('steme-outside-')
    writeFileSync(join(outside, 'package.json'), '{"name":"evil"}')
    const dir = makeRepo({'.steme/claims.toml': claim('n', 'repo:package:vendor', 'name', 'expect = "evil"\nfrom = "files"')})
    symlinkSync(outside, join(dir, 'vendor'))
    const res = await verifyOp({}, {cwd: dir})
    expect(res.verdicts[0].status).toBe('MISSING')
  })

  it('reports a broken claims file as a usage error (exit 2)', async () => {
    const dir = makeRepo({'.steme/claims.toml': '[[claim]\nid = "x"\n'})
    await expect(verifyOp({}, {cwd: dir})).rejects.toMatchObject({exit: 2, message: expect.stringMatching(/claims\.toml:1:\d+: not valid TOML/)})
    const none = makeRepo({'a.txt': 'x'})
    await expect(verifyOp({}, {cwd: none})).rejects.toMatchObject({exit: 2, message: expect.stringMatching(/no claims file/)})
  })
})

describe('store observations', () => {
  const key = generateKeyPair()
  const assertion = (hlc: string, value: string) =>
    seal({v: 1, kind: 'assertion', agent: key.publicHex, hlc, subject: 'service:api', predicate: 'tls_min', value, confidence: 1}, key)

  async function storeWith(): Promise<StoreDeps> {
    const store = new MemoryStore()
    await store.insert([assertion('0000019aa3c4d5e6-0000', '1.2'), assertion('0000019aa3c4d5e7-0000', '1.3')])
    return {store, config: {...DEFAULT_CONFIG}}
  }

  it('never opens the store when the files answer every claim', async () => {
    const dir = makeRepo({'.nvmrc': '20\n', '.steme/claims.toml': claim('node', 'repo:node', 'version', 'expect = 20') + claim('env', 'repo:env', 'present', 'compare = "absent"')})
    const openStore = vi.fn(storeWith)
    const res = await verifyOp({openStore}, {cwd: dir})
    expect(openStore).not.toHaveBeenCalled()
    expect(res.summary.pass).toBe(2)
  })

  it('resolves claims without file observations through the lens, default recency', async () => {
    const dir = makeRepo({'.steme/claims.toml': claim('tls', 'service:api', 'tls_min', 'expect = "1.3"') + claim('tls-old', 'service:api', 'tls_min', 'expect = "1.2"\nseverity = "warn"')})
    const openStore = vi.fn(storeWith)
    const res = await verifyOp({openStore}, {cwd: dir})
    expect(openStore).toHaveBeenCalledTimes(1)
    expect(res.store).toBe('used')
    expect(res.verdicts[0]).toMatchObject({status: 'PASS', source: 'store', observed: [{via: 'store', lens: 'recency', value: '1.3'}]})
    expect(res.verdicts[1].status).toBe('CONFLICT')
  })

  it('reports MISSING when there is no store, and refuses an unknown lens', async () => {
    const dir = makeRepo({'.steme/claims.toml': claim('tls', 'service:api', 'tls_min', 'expect = "1.3"')})
    const res = await verifyOp({openStore: async () => undefined}, {cwd: dir})
    expect(res).toMatchObject({store: 'absent', verdicts: [{status: 'MISSING', message: expect.stringMatching(/no store/)}]})
    writeFiles(dir, {'.steme/claims.toml': claim('tls', 'service:api', 'tls_min', 'expect = "1.3"\nlens = "astrology"')})
    const err = await verifyOp({openStore: storeWith}, {cwd: dir}).catch((e) => e)
    expect(err).toBeInstanceOf(UserError)
    expect(err.message).toMatch(/claims\.toml:1: claim "tls": unknown lens "astrology"/)
  })
})

describe('--staged', () => {
  it('reads the index, not the working tree', async () => {
    const dir = makeRepo({'.nvmrc': '20\n', '.steme/claims.toml': claim('node', 'repo:node', 'version', 'expect = 20')}, {git: true})
    writeFiles(dir, {'.nvmrc': '16\n'})
    gitIn(dir, 'add', '.nvmrc')
    writeFiles(dir, {'.nvmrc': '20\n'})
    expect((await verifyOp({}, {cwd: dir})).verdicts[0].status).toBe('PASS')
    const staged = await verifyOp({}, {cwd: dir, staged: true})
    expect(staged.verdicts[0]).toMatchObject({status: 'CONFLICT', failures: [{value: '16'}]})
  })

  it('uses the staged claims file and sees staged deletions', async () => {
    const dir = makeRepo({'package.json': '{"name":"a"}', '.steme/claims.toml': claim('name', 'repo:package', 'name', 'expect = "a"\nfrom = "files"')}, {git: true})
    writeFiles(dir, {'.steme/claims.toml': claim('name', 'repo:package', 'name', 'expect = "b"\nfrom = "files"')})
    expect((await verifyOp({}, {cwd: dir, staged: true})).verdicts[0].status).toBe('PASS')
    gitIn(dir, 'rm', '-q', '--cached', 'package.json')
    expect((await verifyOp({}, {cwd: dir, staged: true})).verdicts[0].status).toBe('MISSING')
  })

  it('an error in the staged claims file says it is in the staged copy, not the one on disk', async () => {
    const good = claim('a', 's', 'p', 'compare = "present"')
    const dir = makeRepo({'.steme/claims.toml': good + 'oops = = 1\n'}, {git: true})
    writeFiles(dir, {'.steme/claims.toml': good})
    const err = await verifyOp({}, {cwd: dir, staged: true}).catch((e: unknown) => e as UserError)
    expect(err).toMatchObject({exit: 2, message: expect.stringMatching(/^\.steme\/claims\.toml:\d+:\d+: not valid TOML: .* \(in the staged copy, what the commit would hold\)$/)})
    expect(err.hint).toMatch(/then `git add \.steme\/claims\.toml`/)
    // The working tree's copy is fine, and judged so without --staged.
    expect((await verifyOp({}, {cwd: dir})).verdicts).toHaveLength(1)
  })

  it('reads a claims file deleted from the working tree but still staged from the index', async () => {
    const dir = makeRepo({'package.json': '{"name":"a"}', '.steme/claims.toml': claim('name', 'repo:package', 'name', 'expect = "a"\nfrom = "files"')}, {git: true})
    rmSync(join(dir, '.steme/claims.toml'))
    const res = await verifyOp({}, {cwd: dir, staged: true})
    expect(res).toMatchObject({claimsFrom: 'index', ok: true, verdicts: [{id: 'name', status: 'PASS'}]})
    // Without --staged the working tree has none.
    await expect(verifyOp({}, {cwd: dir})).rejects.toMatchObject({exit: 2, message: expect.stringMatching(/^no claims file at \.steme\/claims\.toml/)})
  })

  it('a claims file the index deletes is not read from the copy left in the working tree', async () => {
    const dir = makeRepo({'package.json': '{"name":"a"}', '.steme/claims.toml': claim('name', 'repo:package', 'name', 'expect = "a"\nfrom = "files"')}, {git: true})
    gitIn(dir, 'rm', '-q', '--cached', '.steme/claims.toml')
    // Still on disk, and still what a run of the working tree reads.
    expect((await verifyOp({}, {cwd: dir})).claimsFrom).toBe('worktree')
    const err = await verifyOp({}, {cwd: dir, staged: true}).catch((e: unknown) => e as UserError)
    expect(err).toBeInstanceOf(UserError)
    expect(err).toMatchObject({
      exit: 2,
      code: 'config',
      message: 'the commit deletes the claims file .steme/claims.toml (in the last commit, not in the index), so there are no claims to check it against: the copy left in the working tree is not part of it',
    })
    // No hook here: nothing stands in the way of committing the deletion.
    expect(err.hint).toBe('to keep the claims, stage the file again: `git add .steme/claims.toml`; to stop keeping claims in this repo, commit as it is: no pre-commit hook runs steme here')
  })

  it('a claims file deleted from both says how to bring it back, and how to stop keeping claims past the hook that runs verify', async () => {
    const dir = makeRepo({'package.json': '{"name":"a"}', '.steme/claims.toml': claim('name', 'repo:package', 'name', 'expect = "a"')}, {git: true})
    gitIn(dir, 'rm', '-q', '.steme/claims.toml')
    const hint = async () => ((await verifyOp({}, {cwd: dir, staged: true}).catch((e: unknown) => e)) as UserError).hint
    const keep = 'to keep the claims, bring the file back: `git checkout HEAD -- .steme/claims.toml`; '
    installHookOp({cwd: dir})
    expect(await hint()).toBe(keep + 'to stop keeping claims in this repo, remove the pre-commit hook first (`steme hook uninstall`), then commit')
    // A hook steme did not write (or one edited since), which `steme hook uninstall` leaves alone, is named.
    const hook = join(dir, '.git/hooks/pre-commit')
    writeFileSync(hook, '#!/bin/sh\nsteme verify --staged\n', {mode: 0o755})
    expect(await hint()).toBe(keep + `to stop keeping claims in this repo, first take \`steme verify --staged\` out of the pre-commit hook that runs it (${hook}; with the pre-commit framework, steme-verify in .pre-commit-config.yaml), then commit`)
    // The file list the coverage report reads is the same commit's: refused the same way.
    await expect(coverageOp({cwd: dir, staged: true})).rejects.toMatchObject({exit: 2, message: expect.stringMatching(/^the commit deletes the claims file \.steme\/claims\.toml \(in the last commit, in neither the index nor the working tree\)/)})
  })

  it('a claims file never committed and not staged is read from the working tree, with a warning that the commit would not hold it', async () => {
    const dir = makeRepo({'package.json': '{"name":"a"}'}, {git: true})
    writeFiles(dir, {'.steme/claims.toml': claim('name', 'repo:package', 'name', 'expect = "a"\nfrom = "files"')})
    const r = await verifyOp({}, {cwd: dir, staged: true})
    expect(r).toMatchObject({claimsFrom: 'worktree', ok: true})
    expect(r.warnings).toContain("the claims file .steme/claims.toml is not staged, so the commit would not hold it: checking against the working tree's copy (`git add .steme/claims.toml` to commit it)")
    // Without --staged, the working tree is what is asked about: nothing to warn of.
    expect((await verifyOp({}, {cwd: dir})).warnings).toEqual([])
  })

  it('a missing claims file is named with the repo root, which a subdirectory does not show', async () => {
    const dir = makeRepo({'packages/a/.steme/claims.toml': claim('a', 's', 'p', 'compare = "present"')}, {git: true})
    const err = await verifyOp({}, {cwd: join(dir, 'packages', 'a')}).catch((e: unknown) => e as UserError)
    expect(err).toMatchObject({exit: 2, message: `no claims file at .steme/claims.toml in ${dir}`})
  })

  it('a missing file named by --claims: the hint adds to that file, not to the default one', async () => {
    const dir = makeRepo({'package.json': '{"name":"a"}'}, {git: true})
    // As a shell reads it back: bare when it can be, else in single quotes.
    for (const [given, word] of [['nope.toml', join(dir, 'nope.toml')], ["it's mine.toml", `'${join(dir, 'it')}'\\''s mine.toml'`]]) {
      const err = await verifyOp({}, {cwd: dir, claims: join(dir, given)}).catch((e: unknown) => e as UserError)
      expect(err).toMatchObject({exit: 2, message: `no claims file at ${given} in ${dir}`})
      expect(err.hint).toContain(`steme claims add --claims ${word}\``)
    }
    // Without --claims the default file is the one to start.
    const plain = await verifyOp({}, {cwd: dir}).catch((e: unknown) => e as UserError)
    expect(plain.hint).toContain('add a claim with `steme claims add`')
  })

  it('refuses --staged outside git', async () => {
    const dir = makeRepo({'.steme/claims.toml': ''})
    await expect(verifyOp({}, {cwd: dir, staged: true})).rejects.toMatchObject({exit: 2, message: expect.stringMatching(/needs a git repository/)})
  })
})

describe('baseline', () => {
  it('accepts recorded failures by claim id and fails new ones', async () => {
    const dir = makeRepo({'.nvmrc': '18\n', 'package.json': '{"name":"a"}', '.steme/claims.toml': claim('node', 'repo:node', 'version', 'expect = 20\ncompare = "gte"')})
    const first = await verifyOp({}, {cwd: dir, updateBaseline: true})
    expect(first.ok).toBe(true)
    expect(first.baseline).toMatchObject({updated: true, path: join(dir, '.steme', 'claims-baseline.json')})
    // Accepted into the baseline as it is written: a known failure, so reports say [in baseline].
    expect(first.verdicts[0]).toMatchObject({status: 'CONFLICT', baseline: 'known', fails: false})
    expect(first.summary).toMatchObject({failing: 0, known: 1})
    const again = await verifyOp({}, {cwd: dir})
    expect(again).toMatchObject({ok: true, summary: {known: 1, failing: 0}})
    writeFiles(dir, {'.steme/claims.toml': claim('node', 'repo:node', 'version', 'expect = 20\ncompare = "gte"') + claim('name', 'repo:package', 'name', 'expect = "b"')})
    const next = await verifyOp({}, {cwd: dir})
    expect(next.ok).toBe(false)
    expect(next.verdicts.map((v) => [v.id, v.baseline, v.fails])).toEqual([['node', 'known', false], ['name', 'new', true]])
    writeFiles(dir, {'.nvmrc': '20\n'})
    expect((await verifyOp({}, {cwd: dir})).baseline!.fixed).toEqual(['node'])
  })

  it('refuses a baseline that is not one', async () => {
    const dir = makeRepo({'.steme/claims.toml': '', 'b.json': '{"claims": []}'})
    await expect(verifyOp({}, {cwd: dir, baseline: join(dir, 'b.json')})).rejects.toMatchObject({exit: 2})
  })
})

describe('extraction cache (--staged)', () => {
  it('reuses results of unchanged files, recomputes changed ones, and stays out of the work tree', async () => {
    const dir = makeRepo(
      {
        '.nvmrc': '20\n',
        'conf/a.yaml': 'tls: "1.3"\n',
        'src/x.ts': 'const a = 1\n// key\nconst b = 2\n// key\n',
        '.steme/claims.toml':
          claim('node', 'repo:node', 'version', 'expect = 20') +
          claim('tls', 'svc', 'tls', 'expect = "1.3"') +
          claim('keys', 'repo:code', 'key_lines', 'expect = ["2", "4"]\ncompare = "in"') +
          '[[extract]]\nfiles = "conf/*.yaml"\nyaml = "tls"\nsubject = "svc"\npredicate = "tls"\n' +
          '[[extract]]\nfiles = "src/*.ts"\nregex = "^// (key)$"\nsubject = "repo:code"\npredicate = "key"\n',
      },
      {git: true},
    )
    const first = await verifyOp({}, {cwd: dir, staged: true})
    expect(first.cache).toEqual({hits: 0, misses: 3})
    const second = await verifyOp({}, {cwd: dir, staged: true})
    expect(second.cache).toEqual({hits: 3, misses: 0})
    expect(second.verdicts.map((v) => v.status)).toEqual(first.verdicts.map((v) => v.status))
    expect(second.observations).toEqual(first.observations)
    expect(second.observations!.filter((o) => o.predicate === 'key').map((o) => o.line)).toEqual([2, 4])
    expect(gitIn(dir, 'status', '--porcelain')).toBe('')
    expect(existsSync(join(dir, '.git/steme/verify-cache.json')) && existsSync(join(dir, '.git/steme/claims-cache.json'))).toBe(true)

    writeFiles(dir, {'conf/a.yaml': 'tls: "1.2"\n'})
    gitIn(dir, 'add', 'conf/a.yaml')
    const third = await verifyOp({}, {cwd: dir, staged: true})
    expect(third.cache).toEqual({hits: 2, misses: 1})
    expect(third.verdicts.find((v) => v.id === 'tls')!.status).toBe('CONFLICT')

    // A different extractor configuration invalidates every entry.
    writeFiles(dir, {'.steme/claims.toml': claim('tls', 'svc', 'tls', 'expect = "1.2"') + '[[extract]]\nfiles = "conf/*.yaml"\nyaml = "tls"\nsubject = "svc"\npredicate = "tls"\n'})
    gitIn(dir, 'add', '.steme/claims.toml')
    const fourth = await verifyOp({}, {cwd: dir, staged: true})
    expect(fourth.cache!.hits).toBe(0)
    expect(fourth.verdicts[0].status).toBe('PASS')
    expect((await verifyOp({}, {cwd: dir, staged: true, cache: false})).cache).toBeUndefined()

    // Claims whose TOML does not survive JSON (dates) are parsed every time, and stay exact.
    writeFiles(dir, {'.steme/claims.toml': claim('d', 'svc', 'since', 'expect = 1979-05-27T07:32:00Z') + claim('n', 'svc', 'day', 'expect = [1979-05-27]\ncompare = "in"')})
    gitIn(dir, 'add', '.steme/claims.toml')
    for (let i = 0; i < 2; i++) {
      const res = await verifyOp({}, {cwd: dir, staged: true})
      expect(res.verdicts.map((v) => v.expect)).toEqual(['1979-05-27T07:32:00.000Z', ['1979-05-27']])
    }
    // A broken claims file is reported even right after a good one was cached.
    writeFiles(dir, {'.steme/claims.toml': '[[claim]\n'})
    gitIn(dir, 'add', '.steme/claims.toml')
    await expect(verifyOp({}, {cwd: dir, staged: true})).rejects.toMatchObject({exit: 2, message: expect.stringMatching(/claims\.toml:1:\d+: not valid TOML/)})
  })
})

describe('pattern test cache (--staged)', () => {
  const CLAIMS = [
    claim('version', 'repo:package', 'version', String.raw`expect = '^\d+\.\d+\.\d+$'` + '\ncompare = "matches"'),
    claim('node', 'repo:node', 'version', String.raw`expect = '^v?\d+'` + '\ncompare = "matches"'),
  ].join('')
  const cachePath = (dir: string) => join(dir, '.git/steme/verify-cache.json')
  const patterns = (dir: string) => (JSON.parse(readFileSync(cachePath(dir), 'utf8')) as {patterns: Record<string, boolean>}).patterns
  /** Overwrite what the cache says a test found: the only way to tell an answer from the cache from a fresh test. */
  const forge = (dir: string, text: string, matched: boolean) => {
    const doc = JSON.parse(readFileSync(cachePath(dir), 'utf8'))
    const k = Object.keys(doc.patterns).find((x) => JSON.parse(x)[2] === text)!
    doc.patterns[k] = matched
    writeFileSync(cachePath(dir), JSON.stringify(doc))
  }

  it('answers patterns tested before from the cache, drops outcomes no run asked for, and starts afresh when the cache does', async () => {
    const dir = makeRepo({'package.json': '{"name": "app", "version": "2.14.3"}\n', '.nvmrc': 'v20\n', '.steme/claims.toml': CLAIMS}, {git: true})
    const first = await verifyOp({}, {cwd: dir, staged: true})
    expect(first.verdicts.map((v) => [v.id, v.status])).toEqual([['version', 'PASS'], ['node', 'PASS']])
    expect(Object.entries(patterns(dir)).map(([k, v]) => [JSON.parse(k)[2], v])).toEqual([['2.14.3', true], ['v20', true]])

    forge(dir, '2.14.3', false)
    const second = await verifyOp({}, {cwd: dir, staged: true})
    expect(second.verdicts.map((v) => [v.id, v.status])).toEqual([['version', 'CONFLICT'], ['node', 'PASS']])

    // A new value is tested and kept; the old one's outcome, asked for by no claim now, is dropped.
    writeFiles(dir, {'package.json': '{"name": "app", "version": "2.15"}\n'})
    gitIn(dir, 'add', 'package.json')
    const third = await verifyOp({}, {cwd: dir, staged: true})
    expect(third.verdicts.map((v) => [v.id, v.status])).toEqual([['version', 'CONFLICT'], ['node', 'PASS']])
    expect(Object.entries(patterns(dir)).map(([k, v]) => [JSON.parse(k)[2], v])).toEqual([['v20', true], ['2.15', false]])

    // Another extractor configuration starts the whole cache afresh, pattern outcomes included.
    forge(dir, 'v20', false)
    writeFiles(dir, {'.steme/claims.toml': CLAIMS + '[settings]\nregex_timeout_ms = 4000\n'})
    gitIn(dir, 'add', '.steme/claims.toml')
    expect((await verifyOp({}, {cwd: dir, staged: true})).verdicts.map((v) => [v.id, v.status])).toEqual([['version', 'CONFLICT'], ['node', 'PASS']])
    // Without the cache, nothing is read from it.
    forge(dir, 'v20', false)
    expect((await verifyOp({}, {cwd: dir, staged: true, cache: false})).verdicts[1].status).toBe('PASS')
    expect((await verifyOp({}, {cwd: dir})).verdicts[1].status).toBe('PASS')
  })

  it('ignores an outcome that is not true or false', async () => {
    const dir = makeRepo({'package.json': '{"name": "app", "version": "2.14.3"}\n', '.nvmrc': 'v20\n', '.steme/claims.toml': CLAIMS}, {git: true})
    await verifyOp({}, {cwd: dir, staged: true})
    const doc = JSON.parse(readFileSync(cachePath(dir), 'utf8'))
    for (const k of Object.keys(doc.patterns)) doc.patterns[k] = 0
    writeFileSync(cachePath(dir), JSON.stringify(doc))
    expect((await verifyOp({}, {cwd: dir, staged: true})).verdicts.map((v) => v.status)).toEqual(['PASS', 'PASS'])
    expect(Object.values(patterns(dir))).toEqual([true, true])
  })
})

describe('bad input from the index', () => {
  it('skips binary, oversized and symlinked files in the index, whether read from the tree or the object store', async () => {
    const dir = makeRepo(
      {
        'data/blob.txt': Buffer.from([75, 69, 89, 61, 0, 1, 2]),
        'data/huge.txt': 'KEY=huge\n' + 'x'.repeat(500),
        'data/ok.txt': 'KEY=fine\n',
        '.steme/claims.toml': '[settings]\nmax_file_bytes = 200\n\n[[extract]]\nfiles = "data/*.txt"\nregex = "KEY=(\\\\w+)"\nsubject = "s"\npredicate = "key"\n',
      },
      {git: false},
    )
    symlinkSync('/etc/hostname', join(dir, 'data/link.txt'))
    gitIn(dir, 'init', '-q')
    gitIn(dir, 'add', '-A')
    for (const dirty of [false, true]) {
      // dirty: the working tree differs from the index, so the staged content comes from git cat-file.
      if (dirty) writeFiles(dir, {'data/huge.txt': 'KEY=small\n', 'data/ok.txt': 'KEY=changed\n', 'data/blob.txt': 'KEY=text\n'})
      const res = await verifyOp({}, {cwd: dir, staged: true, cache: false})
      // Dirty, the staged huge.txt is still the large one: the extractor wants a file it cannot read.
      expect(res.observations!.map((o) => o.value)).toEqual([])
      expect(Object.fromEntries(res.skipped.map((s) => [s.path, s.reason]))).toEqual({'data/blob.txt': 'binary', 'data/huge.txt': 'too_large', 'data/link.txt': 'symlink'})
    }
  })
})

describe('a broken claims file leaves nothing behind', () => {
  it('TOML that parses but fails validation writes no parsed-claims cache (found by fuzzing)', async () => {
    const dir = makeRepo({'package.json': '{"name": "x"}\n', '.steme/claims.toml': claim('a', 's', 'p', 'expect = 1\ncompare = "near"')}, {git: true})
    await expect(verifyOp({}, {cwd: dir, staged: true})).rejects.toMatchObject({exit: 2, message: expect.stringMatching(/unknown comparison "near"/)})
    expect(existsSync(join(dir, '.git', 'steme'))).toBe(false)
  })

  it('a claim naming an unknown lens writes no cache, and leaves the cache of the last good claims file as it was', async () => {
    const good = claim('name', 'repo:package', 'name', 'expect = "x"\nlens = "recency"')
    const dir = makeRepo({'package.json': '{"name": "x"}\n', '.steme/claims.toml': claim('a', 's', 'p', 'expect = 1\nlens = "no-such-lens"')}, {git: true})
    await expect(verifyOp({}, {cwd: dir, staged: true})).rejects.toMatchObject({exit: 2, message: expect.stringMatching(/claim "a"/)})
    expect(existsSync(join(dir, '.git', 'steme'))).toBe(false)

    writeFiles(dir, {'.steme/claims.toml': good})
    gitIn(dir, 'add', '.steme/claims.toml')
    expect((await verifyOp({}, {cwd: dir, staged: true})).ok).toBe(true)
    const cacheFiles = ['claims-cache.json', 'verify-cache.json'].map((f) => join(dir, '.git', 'steme', f))
    const before = cacheFiles.map((f) => readFileSync(f, 'utf8'))
    writeFiles(dir, {'.steme/claims.toml': good.replace('"recency"', '"no-such-lens"')})
    gitIn(dir, 'add', '.steme/claims.toml')
    for (let i = 0; i < 2; i++) await expect(verifyOp({}, {cwd: dir, staged: true})).rejects.toMatchObject({exit: 2, message: expect.stringMatching(/claim "name"/)})
    expect(cacheFiles.map((f) => readFileSync(f, 'utf8'))).toEqual(before)
  })
})
