/** Reading .steme/config.toml: every known setting loads; a typo or a wrong type is an error naming file, line and setting. */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {readConfig} from '../../src/config.js'
import {UserError} from '../../src/core/errors.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'steme-config-'))
})
afterEach(() => rmSync(dir, {recursive: true, force: true}))

const load = (text: string) => {
  writeFileSync(join(dir, 'config.toml'), text)
  return readConfig(dir)
}
/** The error a config text gets: message, hint and exit, with the directory shortened to D. */
const refusal = (text: string): {message: string; hint: string; exit: number; code: string} => {
  try {
    load(text)
  } catch (e) {
    if (!(e instanceof UserError)) throw e
    return {message: e.message.replace(dir, 'D'), hint: e.hint ?? '', exit: e.exit, code: e.code}
  }
  throw new Error(`accepted: ${text}`)
}

// What `steme init` writes (src/ops/init.ts), and every setting the docs name.
const INIT = `# steme store configuration.

[query]
# Lens used by \`steme query\` when --lens is not given.
lens = "recency"

[store]
skew_seconds = 60
busy_timeout_seconds = 10

[trust]
pretrusted = []
`
const AGENT = 'ab'.repeat(32)
const EVERYTHING = `${INIT}
[serve]
allow_agents = ["${AGENT}"]

[remotes]
peer = "ssh://me@host/srv/store"
"with space" = "../other"

[lenses.skeptic]
threshold = 0.4

[lenses.authority]
order = ["fda:*", "who:*", "self"]
`

describe('settings that load', () => {
  it('what init writes, and every documented section and setting', () => {
    expect(load(INIT)).toMatchObject({lens: 'recency', skewSeconds: 60, pretrusted: []})
    const all = load(EVERYTHING)
    expect(all.remotes).toEqual({peer: 'ssh://me@host/srv/store', 'with space': '../other'})
    expect(all.raw.lenses).toEqual({skeptic: {threshold: 0.4}, authority: {order: ['fda:*', 'who:*', 'self']}})
  })

  it('[sync] settings for SSH remotes: the idle timeout and the release time, each checked', () => {
    expect(load('[sync]\nidle_timeout_seconds = 1800\nrelease_after_seconds = 2.5\n')).toMatchObject({syncIdleTimeoutSeconds: 1800, syncReleaseAfterSeconds: 2.5})
    expect(load('[sync]\n').syncReleaseAfterSeconds).toBeUndefined()
    expect(refusal('[sync]\nrelease_after_seconds = "10s"\n').message).toBe('D/config.toml:2: sync.release_after_seconds must be a number of seconds from 0 (hold the store to the end) to 2147483 (about 24 days), got "10s"')
    expect(refusal('[sync]\nrelease_after_seconds = -1\n').message).toMatch(/^D\/config\.toml:2: sync\.release_after_seconds must be/)
    expect(refusal('[sync]\nrelease_after = 5\n')).toMatchObject({message: 'D/config.toml:2: unknown setting sync.release_after', hint: expect.stringContaining('release_after_seconds')})
  })

  it('an authority order written as one string, as in an expression, and empty lens tables', () => {
    expect(() => load('[lenses.authority]\norder = "fda:* who:*"\n[lenses.recency]\n')).not.toThrow()
  })

  it('an empty file, and no file at all', () => {
    expect(load('').lens).toBe('recency')
    rmSync(join(dir, 'config.toml'))
    expect(readConfig(dir).lens).toBe('recency')
  })
})

describe('a misspelt section or setting is refused, with the nearest known name', () => {
  it('[qeury]: names the file and line of the section, and [query]', () => {
    const r = refusal('# mine\n\n[qeury]\nlens = "trust"\n')
    expect(r.message).toBe('D/config.toml:3: unknown section [qeury]; did you mean [query]?')
    expect(r.hint).toContain('query, store, trust, serve, sync, remotes, lenses')
    expect(r).toMatchObject({exit: 2, code: 'config'})
  })

  it('lense = in [query]: names its line and query.lens', () => {
    expect(refusal(INIT.replace('lens = "recency"', 'lense = "trust"')).message).toBe('D/config.toml:5: unknown setting query.lense; did you mean query.lens?')
  })

  it('a lens table for a lens that does not exist, and a parameter a lens does not take', () => {
    expect(refusal('[lenses.skeptik]\nthreshold = 0.4\n').message).toBe('D/config.toml:1: unknown section [lenses.skeptik]; did you mean [lenses.skeptic]?')
    expect(refusal('[lenses.skeptic]\nthreshhold = 0.4\n').message).toBe('D/config.toml:2: unknown setting lenses.skeptic.threshhold; did you mean lenses.skeptic.threshold?')
    const none = refusal('[lenses.recency]\nwindow = 3\n')
    expect(none.message).toBe('D/config.toml:2: unknown setting lenses.recency.window')
    expect(none.hint).toContain('[lenses.recency] takes no settings')
  })

  it('names that are properties of every JS object are still unknown names', () => {
    expect(refusal('[constructor]\na = 1\n').message).toContain('unknown section [constructor]')
    expect(refusal('[query]\ntoString = "x"\n').message).toContain('unknown setting query.toString')
  })

  it('a setting with nothing close to it gets the list of what the section holds, no guess', () => {
    const r = refusal('[store]\ncompletely_different = 1\n')
    expect(r.message).toBe('D/config.toml:2: unknown setting store.completely_different')
    expect(r.hint).toContain('[store] may hold: skew_seconds')
  })
})

describe('a value of the wrong type is refused, naming the setting and what it takes', () => {
  it('threshold = "0.7" (a string) and threshold = 7 (out of range)', () => {
    expect(refusal('[lenses.skeptic]\nthreshold = "0.7"\n').message).toBe('D/config.toml:2: lenses.skeptic.threshold must be a number in [0, 1], got "0.7"')
    expect(refusal('\n[lenses.skeptic]\nthreshold = 7\n').message).toBe('D/config.toml:3: lenses.skeptic.threshold must be a number in [0, 1], got 7')
  })

  it('an authority order with a non-string in it', () => {
    expect(refusal('[lenses.authority]\norder = ["fda:*", 3]\n').message).toMatch(/^D\/config\.toml:2: lenses\.authority\.order must be a list of .* \(a list of strings in quotes\), got \["fda:\*",3\]$/)
  })

  it('an authority order naming an agent by anything but hex (it would match nobody)', () => {
    expect(refusal('[lenses.authority]\norder = ["fda:*", "agent:bob"]\n').message).toMatch(/^D\/config\.toml:2: lenses\.authority\.order must be a list of .*, got \["fda:\*","agent:bob"\]$/)
    expect(() => load('[lenses.authority]\norder = ["fda:*", "agent:9C1e", "self"]\n')).not.toThrow()
  })

  it('the settings init writes, each with its line', () => {
    expect(refusal(INIT.replace('skew_seconds = 60', 'skew_seconds = "60"')).message).toBe('D/config.toml:8: store.skew_seconds must be a number of seconds >= 0, got "60"')
    expect(refusal(INIT.replace('lens = "recency"', 'lens = 7')).message).toBe('D/config.toml:5: query.lens must be a lens expression in quotes, got 7')
    expect(refusal(INIT.replace('busy_timeout_seconds = 10', 'busy_timeout_seconds = -1')).message).toBe('D/config.toml:9: store.busy_timeout_seconds must be a number of seconds from 0 (do not wait) to 86400, got -1')
    expect(refusal(INIT.replace('busy_timeout_seconds = 10', 'busy_timeout_seconds = "10s"')).message).toMatch(/^D\/config\.toml:9: store\.busy_timeout_seconds must be/)
    expect(load(INIT.replace('busy_timeout_seconds = 10', 'busy_timeout_seconds = 0.5')).busyTimeoutSeconds).toBe(0.5)
    expect(load(INIT.replace('busy_timeout_seconds = 10\n', '')).busyTimeoutSeconds).toBe(10)
    expect(refusal(INIT.replace('pretrusted = []', 'pretrusted = ["zz"]')).message).toMatch(/^D\/config\.toml:12: trust\.pretrusted must be a list of agent keys .*, got "zz"$/)
  })

  it('[serve] allow_agents, a remote that is not a string, and a section that is not a table', () => {
    expect(refusal('[serve]\nallow_agents = "x"\n').message).toMatch(/serve\.allow_agents must be a list of agent keys/)
    expect(refusal('[remotes]\npeer = 3\n').message).toBe('D/config.toml:2: remotes.peer must be a URL or path in quotes, not empty, got 3')
    expect(refusal('query = "recency"\n').message).toBe('D/config.toml:1: [query] must be a table, got "recency"')
  })
})
