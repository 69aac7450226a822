/** verify --staged reads the baseline as it reads the claims file: what the commit holds, from the git index. */
import {existsSync, readFileSync, rmSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {renderTable} from '../../src/claims/report.js'
import type {UserError} from '../../src/core/errors.js'
import {verifyOp} from '../../src/ops/verify.js'
import {claim, gitIn, makeRepo, writeFiles} from './helpers.js'

const BASELINE = '.steme/claims-baseline.json'
const CLAIMS = claim('node', 'repo:node', 'version', 'expect = 20\ncompare = "gte"') + claim('name', 'repo:package', 'name', 'expect = "app"')
const ACCEPT_NODE = JSON.stringify({version: 1, claims: {node: {status: 'CONFLICT', severity: 'error', message: 'node is 18'}}}, null, 2) + '\n'
const ACCEPT_NONE = JSON.stringify({version: 1, claims: {}}, null, 2) + '\n'

/** A committed repo whose node claim fails (.nvmrc says 18); `baseline` is committed with it when given. */
function repo(baseline?: string): string {
  return makeRepo({'.nvmrc': '18\n', 'package.json': '{"name": "app"}\n', '.steme/claims.toml': CLAIMS, ...(baseline ? {[BASELINE]: baseline} : {})}, {git: true})
}

const node = (res: Awaited<ReturnType<typeof verifyOp>>) => res.verdicts.find((v) => v.id === 'node')!

describe('verify --staged and the baseline', () => {
  it('judges by the staged baseline, whatever the working tree copy says', async () => {
    const dir = repo(ACCEPT_NODE)
    // An unstaged edit that drops the accepted failure: the commit still holds the baseline that accepts it.
    writeFiles(dir, {[BASELINE]: ACCEPT_NONE})
    const staged = await verifyOp({}, {cwd: dir, staged: true})
    expect(staged).toMatchObject({ok: true, baseline: {from: 'index', updated: false}, summary: {known: 1, failing: 0}})
    expect(staged.warnings).toEqual([])
    // Without --staged, the working tree's copy is the one that counts.
    expect(node(await verifyOp({}, {cwd: dir}))).toMatchObject({baseline: 'new', fails: true})

    // A staged change whose working-tree copy differs: the staged one counts.
    gitIn(dir, 'add', BASELINE)
    writeFiles(dir, {[BASELINE]: ACCEPT_NODE})
    const dropped = await verifyOp({}, {cwd: dir, staged: true})
    expect(dropped).toMatchObject({ok: false, baseline: {from: 'index'}, summary: {known: 0, failing: 1}})
    expect(node(dropped)).toMatchObject({status: 'CONFLICT', baseline: 'new', fails: true})
    expect((await verifyOp({}, {cwd: dir})).ok).toBe(true)
  })

  it('reads a staged baseline deleted from the working tree, and one named with --baseline', async () => {
    const dir = repo(ACCEPT_NODE)
    rmSync(join(dir, BASELINE))
    expect(await verifyOp({}, {cwd: dir, staged: true})).toMatchObject({ok: true, baseline: {from: 'index'}})
    await expect(verifyOp({}, {cwd: dir, baseline: join(dir, BASELINE)})).rejects.toMatchObject({exit: 2, message: expect.stringMatching(/^no baseline at /)})
    expect(await verifyOp({}, {cwd: dir, staged: true, baseline: join(dir, BASELINE)})).toMatchObject({ok: true, baseline: {from: 'index'}})
  })

  it('the extraction cache does not keep a verdict: a warm run follows a change of the staged baseline', async () => {
    const dir = repo(ACCEPT_NODE)
    expect((await verifyOp({}, {cwd: dir, staged: true})).ok).toBe(true)
    writeFiles(dir, {[BASELINE]: ACCEPT_NONE})
    gitIn(dir, 'add', BASELINE)
    writeFiles(dir, {[BASELINE]: ACCEPT_NODE})
    const warm = await verifyOp({}, {cwd: dir, staged: true})
    expect(warm.cache).toEqual({hits: 2, misses: 0})
    expect(warm).toMatchObject({ok: false, summary: {known: 0, failing: 1}})
  })

  it('a baseline only in the working tree (not yet added) is used, as a claims file not yet added is, with a warning', async () => {
    const dir = repo()
    for (const stage of ['untracked', 'intent to add']) {
      writeFiles(dir, {[BASELINE]: ACCEPT_NODE})
      if (stage === 'intent to add') gitIn(dir, 'add', '-N', BASELINE)
      const res = await verifyOp({}, {cwd: dir, staged: true})
      expect(res, stage).toMatchObject({ok: true, baseline: {from: 'worktree'}, summary: {known: 1}})
      expect(res.warnings, stage).toEqual([`the baseline ${BASELINE} is not staged, so the commit would not hold it: using the working tree's copy (\`git add ${BASELINE}\` to commit it)`])
    }
    // Without --staged there is nothing to warn of.
    expect((await verifyOp({}, {cwd: dir})).warnings).toEqual([])
  })

  it('a baseline the index deletes is not used, even with a copy left in the working tree', async () => {
    const dir = repo(ACCEPT_NODE)
    gitIn(dir, 'rm', '-q', '--cached', BASELINE)
    const res = await verifyOp({}, {cwd: dir, staged: true})
    expect(res.baseline).toBeUndefined()
    expect(res).toMatchObject({ok: false, summary: {known: 0, failing: 1}})
    expect(res.warnings).toEqual([`the baseline ${BASELINE} is deleted in the index, so the commit removes it: judging it without a baseline, not by the copy left in the working tree`])
    // Named with --baseline, it is not used either: the commit holds none.
    expect((await verifyOp({}, {cwd: dir, staged: true, baseline: join(dir, BASELINE)})).baseline).toBeUndefined()
    // Deleted in both, there is simply no baseline (the default one is optional).
    gitIn(dir, 'commit', '-qm', 'drop the baseline')
    rmSync(join(dir, BASELINE))
    const none = await verifyOp({}, {cwd: dir, staged: true})
    expect(none).toMatchObject({ok: false, warnings: []})
    expect(none.baseline).toBeUndefined()
  })

  it('a broken staged baseline is an error in the staged copy, even when the working tree copy is fine', async () => {
    const dir = repo('{"version": 1, "claims": [}\n')
    writeFiles(dir, {[BASELINE]: ACCEPT_NODE})
    const err = await verifyOp({}, {cwd: dir, staged: true}).catch((e: unknown) => e as UserError)
    expect(err).toMatchObject({exit: 2, message: expect.stringMatching(/^\.steme\/claims-baseline\.json is not valid JSON: .* \(in the staged copy, what the commit would hold\)$/)})
    expect(err.hint).toMatch(/then `git add \.steme\/claims-baseline\.json`/)
    expect((await verifyOp({}, {cwd: dir})).ok).toBe(true)
  })

  it('a staged baseline that is a symbolic link is refused, not followed', async () => {
    const dir = repo()
    symlinkSync('/etc/hostname', join(dir, BASELINE))
    gitIn(dir, 'add', BASELINE)
    await expect(verifyOp({}, {cwd: dir, staged: true})).rejects.toMatchObject({exit: 2, message: `the staged baseline ${BASELINE} is a symbolic link (not followed, so no claim reads outside the repo)`})
  })

  it('--update-baseline --staged accepts the staged failures, writes the working tree, and says when that is not staged', async () => {
    const dir = repo(ACCEPT_NONE)
    // The commit would hold node 18 and name "other"; the working tree, node 20 and name "app".
    writeFiles(dir, {'package.json': '{"name": "other"}\n'})
    gitIn(dir, 'add', 'package.json')
    writeFiles(dir, {'.nvmrc': '20\n', 'package.json': '{"name": "app"}\n'})
    const up = await verifyOp({}, {cwd: dir, staged: true, updateBaseline: true})
    expect(up).toMatchObject({ok: true, baseline: {updated: true, from: 'worktree', staged: false}, summary: {known: 2}})
    expect(Object.keys(JSON.parse(readFileSync(join(dir, BASELINE), 'utf8')).claims)).toEqual(['name', 'node'])
    expect(renderTable(up, {color: false, table: () => ''})).toContain(`not staged: \`git add ${BASELINE}\` so the commit holds it`)
    // Not staged yet, so the commit is still judged by the baseline it holds.
    expect((await verifyOp({}, {cwd: dir, staged: true})).summary).toMatchObject({known: 0, failing: 2})
    gitIn(dir, 'add', BASELINE)
    expect((await verifyOp({}, {cwd: dir, staged: true})).summary).toMatchObject({known: 2, failing: 0})
    // Written again with nothing changed, the index already holds it.
    const again = await verifyOp({}, {cwd: dir, staged: true, updateBaseline: true})
    expect(again.baseline).toMatchObject({updated: true, staged: true})
    expect(renderTable(again, {color: false, table: () => ''})).not.toContain('not staged')
    expect(existsSync(join(dir, BASELINE))).toBe(true)
  })
})
