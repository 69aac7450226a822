/** Named remotes in the store's config: what `remote add` stores, and what [remotes] may hold. */
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {readConfig} from '../../src/config.js'
import {addRemote} from '../../src/ops/remote.js'

let root: string
let dir: string
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'steme-remotes-'))
  dir = join(root, 'a', '.steme')
  mkdirSync(dir, {recursive: true})
  writeFileSync(join(dir, 'config.toml'), '')
})
afterEach(() => rmSync(root, {recursive: true, force: true}))

describe('remotes in the config', () => {
  it('refuses a name starting with - (pull would read it as a flag)', () => {
    expect(() => addRemote(dir, '-x', '../b', root)).toThrow(/"-x" is not a valid remote name/)
    expect(addRemote(dir, 'x-1', '../b', root).name).toBe('x-1')
  })

  it('an empty URL in [remotes] is a config error naming remotes.<name>, not a sync with the store itself', () => {
    writeFileSync(join(dir, 'config.toml'), '[remotes]\nempty = ""\n')
    expect(() => readConfig(dir)).toThrow(/remotes\.empty must be a URL or path in quotes, not empty/)
  })

  it('stores a relative path resolved against where it was typed', () => {
    const r = addRemote(dir, 'peer', '../peer', join(root, 'a', 'sub'))
    expect(r).toMatchObject({url: join(root, 'a', 'peer'), given: '../peer', missing: true})
    expect(readConfig(dir).remotes.peer).toBe(join(root, 'a', 'peer'))
  })
})
