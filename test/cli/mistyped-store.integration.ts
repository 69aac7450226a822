/** The commands that keep a store's own files without opening its database (remote, serve token) refuse a --store where no store is, as every other command does. */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
beforeAll(() => {
  sb = sandbox('steme-mistyped-')
  expect(sb.run(['init', '--dir', join(sb.dir, 'team')]).code).toBe(0)
})
afterAll(() => sb.cleanup())

describe('--store naming no store', () => {
  it('remote and serve token commands: exit 2, no_store naming the path, --json on stdout, and nothing made there', () => {
    const empty = join(sb.dir, 'empty')
    mkdirSync(empty)
    const missing = join(sb.dir, 'teem')
    for (const store of [empty, missing, join(missing, '.steme')]) {
      for (const args of [
        ['serve', 'token', 'create', '--role', 'admin'],
        ['serve', 'token', 'list'],
        ['serve', 'token', 'revoke', 'ci'],
        ['remote', 'add', 'origin', join(sb.dir, 'team')],
        ['remote', 'list'],
        ['remote', 'remove', 'origin'],
      ]) {
        const r = sb.run([...args, '--store', store, '--json'])
        const what = `${args.join(' ')} --store ${store}`
        expect(r.code, `${what}: ${r.stdout}`).toBe(2)
        expect(JSON.parse(r.stdout).error, what).toMatchObject({code: 'no_store', message: expect.stringMatching(/^no store at .*(empty|teem)/)})
        expect(r.stderr, what).toMatch(/^error: no store at .*\nhint: create one there with `steme init --dir .*(empty|teem)`/)
      }
    }
    // A token made for a mistyped store was kept in a .steme/state/ made for it there.
    expect(readdirSync(empty)).toEqual([])
    expect(existsSync(missing)).toBe(false)
  })

  it('a real store, by its directory, still takes tokens and remotes', () => {
    const team = join(sb.dir, 'team')
    expect(sb.run(['serve', 'token', 'create', '--role', 'read', '--name', 'dash', '--store', team]).code).toBe(0)
    expect(sb.json<{tokens: Array<{name: string}>}>(['serve', 'token', 'list', '--store', team]).tokens.map((t) => t.name)).toEqual(['dash'])
    expect(sb.run(['remote', 'add', 'self', team, '--store', team]).code).toBe(0)
    expect(sb.json<{remotes: Array<{name: string}>}>(['remote', 'list', '--store', team]).remotes.map((r) => r.name)).toEqual(['self'])
  })
})

describe('verify, claims list and claims explain with --store naming no store', () => {
  it('exit 2, no_store, once a claim needs the store; never judged "no store to consult"', () => {
    const repo = join(sb.dir, 'repo')
    mkdirSync(join(repo, '.steme'), {recursive: true})
    expect(spawnSync('git', ['init', '-q', repo]).status).toBe(0)
    writeFileSync(join(repo, 'tsconfig.json'), '{"compilerOptions": {"strict": true}}\n')
    const fromFiles = '[[claim]]\nid = "strict"\nsubject = "repo:tsconfig"\npredicate = "compilerOptions.strict"\nexpect = true\n'
    const fromStore = '[[claim]]\nid = "dose"\nsubject = "drug:aspirin"\npredicate = "dose"\nexpect = "81mg"\nseverity = "warn"\n'
    const missing = join(sb.dir, 'nowhere')
    // Only the files are needed: the store is not opened, so its absence is no matter.
    writeFileSync(join(repo, '.steme', 'claims.toml'), fromFiles)
    expect(sb.run(['verify', '--store', missing], {cwd: repo}).code).toBe(0)
    writeFileSync(join(repo, '.steme', 'claims.toml'), fromFiles + fromStore)
    for (const args of [['verify'], ['claims', 'list'], ['claims', 'explain']]) {
      for (const env of [{}, {STEME_STORE: missing}]) {
        const r = sb.run([...args, ...('STEME_STORE' in env ? [] : ['--store', missing]), '--json'], {cwd: repo, env})
        const what = `${args.join(' ')} ${JSON.stringify(env)}`
        expect(r.code, `${what}: ${r.stdout}`).toBe(2)
        expect(JSON.parse(r.stdout).error, what).toMatchObject({code: 'no_store', message: `no store at ${missing}`})
      }
    }
    // Without --store or STEME_STORE, a repo with no store is judged from its files, as before.
    const plain = sb.run(['verify', '--json'], {cwd: repo})
    expect(plain.code, plain.stderr).toBe(0)
    expect(JSON.stringify(JSON.parse(plain.stdout))).toContain('no store to consult')
  })
})

describe('--store or STEME_STORE as a URL steme cannot open a store by', () => {
  it('is a usage error naming the URL and what a store is, never "no store at https://..." with an init --dir of it', () => {
    const cases: Array<[string, RegExp]> = [
      ['https://steme.example:7411', /--remote \(or STEME_REMOTE\)/],
      ['file:///srv/team/.steme', /give its path without file:\/\//],
      ['sqlite://team.db', /^a store is a \.steme directory, a DuckDB file or a postgres:\/\/ URL$/],
    ]
    for (const [url, hint] of cases) {
      for (const [args, env] of [
        [['stats', '--store', url], {}],
        [['log'], {STEME_STORE: url}],
        [['migrate', '--from', join(sb.dir, 'team'), '--to', url], {}],
      ] as Array<[string[], NodeJS.ProcessEnv]>) {
        const r = sb.run([...args, '--json'], {env})
        const what = `${args.join(' ')} ${JSON.stringify(env)}`
        expect(r.code, `${what}: ${r.stderr}`).toBe(2)
        const error = JSON.parse(r.stdout).error
        expect(error.message, what).toBe(`${env.STEME_STORE ? 'STEME_STORE' : 'the store'} ${JSON.stringify(url)} is a ${url.split(':')[0]}: URL, which names no store steme can open`)
        expect(error.hint, what).toMatch(hint)
        expect(r.stderr, what).not.toContain('init --dir')
      }
    }
    // A password in such a URL is not echoed.
    const r = sb.run(['stats', '--store', 'mysql://u:hunter2@db/x'])
    expect(r.code).toBe(2)
    expect(r.stderr).not.toContain('hunter2')
  })

  it('a file whose name has a colon, where it is, is still a store path', () => {
    const team = join(sb.dir, 'team')
    writeFileSync(join(team, 'bk:1.duckdb'), readFileSync(join(team, '.steme', 'store.duckdb')))
    const r = sb.run(['stats', '--store', 'bk:1.duckdb', '--json'], {cwd: team})
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).location).toBe(join(team, 'bk:1.duckdb'))
  })
})
