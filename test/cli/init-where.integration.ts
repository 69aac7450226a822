import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
beforeEach(() => {
  sb = sandbox()
})
afterEach(() => sb.cleanup())

const location = (cwd: string, env: NodeJS.ProcessEnv = {}): string => JSON.parse(sb.run(['stats', '--json'], {cwd, env}).stdout).location

describe('init --dir', () => {
  it('a path to a .steme directory (as --store takes) makes the store there, not a .steme inside it', () => {
    const target = join(sb.dir, 'team', '.steme')
    const r = sb.run(['init', '--dir', target])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`Created ${target}\n`)
    expect(readdirSync(target).sort()).toEqual(['.gitignore', 'config.toml', 'store.duckdb'])
    expect(existsSync(join(target, '.steme'))).toBe(false)
    // Run again, the same way: it is that store.
    expect(sb.run(['init', '--dir', target]).stdout).toContain(`Already a store: ${target}`)
    expect(location(join(sb.dir, 'team'))).toBe(join(target, 'store.duckdb'))
  })
})

describe('init where commands would find another store', () => {
  it('inside another store\'s tree: made, and a note says commands below now use the new one', () => {
    expect(sb.run(['init']).code).toBe(0)
    const sub = join(sb.dir, 'project', 'sub')
    mkdirSync(sub, {recursive: true})
    const r = sb.run(['init'], {cwd: sub})
    expect(r.code).toBe(0)
    expect(r.stderr).toBe(`note: this store is inside the tree of the store at ${join(sb.dir, '.steme')}: commands run in ${sub} and below now use this one\n`)
    expect(location(sub)).toBe(join(sub, '.steme', 'store.duckdb'))
    // A store with none above it has no note.
    const alone = sandbox()
    try {
      expect(alone.run(['init']).stderr).toBe('')
    } finally {
      alone.cleanup()
    }
  })

  it('with STEME_STORE naming another store: a note says commands use that one, and how to use this one', () => {
    const other = join(sb.dir, 'other')
    mkdirSync(other)
    expect(sb.run(['init'], {cwd: other}).code).toBe(0)
    const here = join(sb.dir, 'here')
    mkdirSync(here)
    const r = sb.run(['init', '--json'], {cwd: here, env: {STEME_STORE: other}})
    expect(r.code).toBe(0)
    const dir = join(here, '.steme')
    const note = `STEME_STORE is set, so commands use the store it names (${other}), not this one: unset it, or pass --store ${dir}`
    expect(JSON.parse(r.stdout).notes).toEqual([note])
    expect(r.stderr).toBe(`note: ${note}\n`)
    expect(location(here, {STEME_STORE: other})).toBe(join(other, '.steme', 'store.duckdb'))
    // STEME_STORE naming this very store: nothing to say. A password in it is never echoed.
    expect(sb.run(['init'], {cwd: here, env: {STEME_STORE: here}}).stderr).toBe('')
    const pg = sb.run(['init'], {cwd: here, env: {STEME_STORE: 'postgres://steme:hunter2@db.internal/steme'}})
    expect(pg.stderr).toContain('(postgres://steme:***@db.internal/steme)')
    expect(pg.stderr).not.toContain('hunter2')
    // Nor any part of one holding @ or / (a URL the driver and steme both take, or refuse masked).
    for (const pw of ['hun@ter2', 'hun/ter2']) {
      const r = sb.run(['init'], {cwd: here, env: {STEME_STORE: `postgres://steme:${pw}@db.internal/steme`}})
      expect(r.stderr).toContain('(postgres://steme:***@db.internal/steme)')
      expect(r.stderr).not.toMatch(/hun|ter2/)
    }
  })
})

describe('init in a subdirectory of a git repository', () => {
  it('makes the store there, as git init would, and says verify and the claims commands work from the repository top', () => {
    const top = join(sb.dir, 'repo')
    mkdirSync(top)
    expect(spawnSync('git', ['init', '-q'], {cwd: top}).status).toBe(0)
    const sub = join(top, 'tools')
    mkdirSync(sub)
    const r = sb.run(['init', '--json'], {cwd: sub})
    expect(r.code, r.stderr).toBe(0)
    const note = `${sub} is inside the git repository at ${top}: commands run in ${sub} and below use this store, but \`steme verify\`, the claims commands and the git hook work from the repository's top (claims in ${join(top, '.steme', 'claims.toml')}), so they do not use it; for a store they use, run \`steme init --dir ${top}\``
    expect(JSON.parse(r.stdout)).toMatchObject({dir: join(sub, '.steme'), created: true, notes: [note]})
    expect(r.stderr).toBe(`note: ${note}\n`)
    expect(location(sub)).toBe(join(sub, '.steme', 'store.duckdb'))
    // Done as the note says: the store at the top has nothing to say, and one made below it afterwards names it.
    const atTop = sb.run(['init', '--dir', top], {cwd: sub})
    expect(atTop.code, atTop.stderr).toBe(0)
    expect(atTop.stderr).toBe('')
    const docs = join(top, 'docs')
    mkdirSync(docs)
    const below = sb.run(['init'], {cwd: docs})
    expect(below.stderr).toContain(`so they do not use it; they use the store at ${join(top, '.steme')}\n`)
  })
})
