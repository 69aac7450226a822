import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {parse as parseYaml} from 'yaml'
import {describe, expect, it} from 'vitest'
import {hookScript, hookState, installHookOp, uninstallHookOp} from '../../src/ops/hook.js'
import {gitIn, makeRepo, tempDir} from './helpers.js'

describe('hook install / uninstall', () => {
  it('honours core.hooksPath and writes an executable hook', () => {
    const dir = makeRepo({'.steme/claims.toml': ''}, {git: true})
    gitIn(dir, 'config', 'core.hooksPath', 'tools/hooks')
    const res = installHookOp({cwd: dir})
    expect(res).toMatchObject({path: join(dir, 'tools/hooks/pre-commit'), action: 'installed', claimsFile: true})
    expect(statSync(res.path).mode & 0o111).not.toBe(0)
    expect(uninstallHookOp({cwd: dir}).action).toBe('uninstalled')
    expect(existsSync(res.path)).toBe(false)
    expect(uninstallHookOp({cwd: dir}).action).toBe('absent')
  })

  it('refuses outside git, and refuses to clobber an existing backup', () => {
    expect(() => installHookOp({cwd: tempDir('steme-nogit-')})).toThrow(/not inside a git repository/)
    const dir = makeRepo({'a': ''}, {git: true})
    const hook = join(dir, '.git/hooks/pre-commit')
    writeFileSync(hook, '#!/bin/sh\necho one\n')
    writeFileSync(hook + '.steme-backup', '#!/bin/sh\necho older\n')
    expect(() => installHookOp({cwd: dir, force: true})).toThrow(/cannot be kept/)
    expect(readFileSync(hook, 'utf8')).toContain('echo one')
  })

  it('an edited steme hook is neither replaced nor removed without --force, and --force keeps it', () => {
    const dir = makeRepo({'.steme/claims.toml': ''}, {git: true})
    const {path} = installHookOp({cwd: dir})
    expect(hookState(path)).toBe('ours')
    expect(installHookOp({cwd: dir}).action).toBe('updated')
    const edited = readFileSync(path, 'utf8').replace('#!/bin/sh\n', '#!/bin/sh\nnpm run lint || exit 1  # my own check\n')
    writeFileSync(path, edited)
    expect(hookState(path)).toBe('edited')
    expect(() => installHookOp({cwd: dir})).toThrow(/edited since steme wrote it .*: replacing it would lose the edits/)
    expect(() => uninstallHookOp({cwd: dir})).toThrow(/edited since steme wrote it .*; leaving it alone, with the edits/)
    expect(readFileSync(path, 'utf8')).toBe(edited)
    const forced = installHookOp({cwd: dir, force: true})
    expect(forced).toMatchObject({action: 'installed', backup: path + '.steme-backup'})
    expect(readFileSync(path + '.steme-backup', 'utf8')).toBe(edited)
    expect(uninstallHookOp({cwd: dir}).action).toBe('restored')
    expect(readFileSync(path, 'utf8')).toBe(edited)
    // A marker without a digest (an older steme's hook) counts as edited: nothing is lost by guessing.
    writeFileSync(path, '#!/bin/sh\n# steme-verify hook\nexec steme verify --staged\n')
    expect(hookState(path)).toBe('edited')
    writeFileSync(path, '#!/bin/sh\necho mine\n')
    expect(hookState(path)).toBe('foreign')
  })

  it('a directory where the hook goes is not steme\'s: refused by name, kept by --force, restored by uninstall', () => {
    const dir = makeRepo({'.steme/claims.toml': ''}, {git: true})
    const hook = join(dir, '.git/hooks/pre-commit')
    mkdirSync(hook)
    writeFileSync(join(hook, 'lint.sh'), 'echo lint\n')
    expect(hookState(hook)).toBe('foreign')
    expect(() => installHookOp({cwd: dir})).toThrow(`${hook} already exists and is not steme's hook`)
    expect(() => uninstallHookOp({cwd: dir})).toThrow(`${hook} is not steme's hook; leaving it alone`)
    expect(installHookOp({cwd: dir, force: true})).toMatchObject({action: 'installed', backup: hook + '.steme-backup'})
    expect(uninstallHookOp({cwd: dir}).action).toBe('restored')
    expect(readFileSync(join(hook, 'lint.sh'), 'utf8')).toBe('echo lint\n')
  })

  it('quotes paths for the shell and skips on SKIP=steme-verify among others', () => {
    const script = hookScript({node: "/opt/it's/node", script: '/x/bin/run.js'}, ['--fail-on-warn'])
    expect(script).toContain(`exec '/opt/it'\\''s/node' '/x/bin/run.js' 'verify' '--staged' '--fail-on-warn'`)
    const dir = tempDir('steme-hookscript-')
    const path = join(dir, 'pre-commit')
    // With no CLI to be found, the hook fails unless skipped.
    writeFileSync(path, hookScript({node: '/nonexistent/node', script: '/nonexistent/run.js'}).replace('command -v steme', 'false'), {mode: 0o755})
    const run = (skip?: string) => {
      try {
        execFileSync('/bin/sh', [path], {env: {PATH: process.env.PATH, ...(skip === undefined ? {} : {SKIP: skip})}, stdio: 'pipe'})
        return 0
      } catch (e) {
        return (e as {status: number}).status
      }
    }
    expect(run()).toBe(1)
    expect(run('lint, steme-verify')).toBe(0)
    expect(run('steme-verify')).toBe(0)
    expect(run('steme-verify-not')).toBe(1)
  })

  it('installs pre-merge-commit with pre-commit, all or nothing: a merge hook backup in the way leaves both hooks as they were', () => {
    const dir = makeRepo({'.steme/claims.toml': ''}, {git: true})
    const hooks = join(dir, '.git/hooks')
    writeFileSync(join(hooks, 'pre-commit'), '#!/bin/sh\necho lint\n')
    writeFileSync(join(hooks, 'pre-merge-commit'), '#!/bin/sh\necho merge check\n')
    writeFileSync(join(hooks, 'pre-merge-commit.steme-backup'), '#!/bin/sh\necho older\n')
    expect(() => installHookOp({cwd: dir, force: true})).toThrow(/pre-merge-commit\.steme-backup already exists, so the current pre-merge-commit hook cannot be kept/)
    expect(readFileSync(join(hooks, 'pre-commit'), 'utf8')).toBe('#!/bin/sh\necho lint\n')
    expect(existsSync(join(hooks, 'pre-commit.steme-backup'))).toBe(false)
    expect(readFileSync(join(hooks, 'pre-merge-commit'), 'utf8')).toBe('#!/bin/sh\necho merge check\n')
    // Both ours: updated together, and removed together.
    const fresh = makeRepo({'.steme/claims.toml': ''}, {git: true})
    expect(installHookOp({cwd: fresh}).merge).toMatchObject({action: 'installed', path: join(fresh, '.git/hooks/pre-merge-commit')})
    expect(installHookOp({cwd: fresh}).merge).toMatchObject({action: 'updated'})
    expect(hookState(join(fresh, '.git/hooks/pre-merge-commit'))).toBe('ours')
    expect(uninstallHookOp({cwd: fresh})).toMatchObject({action: 'uninstalled', merge: {action: 'uninstalled'}})
    expect(existsSync(join(fresh, '.git/hooks/pre-merge-commit'))).toBe(false)
  })

  it('the pre-commit framework hook runs at merges git makes as well as at commits', () => {
    const hooks = parseYaml(readFileSync(resolve(__dirname, '../../.pre-commit-hooks.yaml'), 'utf8')) as {id: string; stages: string[]; entry: string}[]
    const hook = hooks.find((h) => h.id === 'steme-verify')!
    expect(hook.entry).toBe('steme verify --staged')
    expect(hook.stages).toEqual(['pre-commit', 'pre-merge-commit'])
  })
})
