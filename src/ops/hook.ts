/** Install and uninstall the git pre-commit hook that runs `steme verify --staged`, keeping any previous hook. */
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, renameSync, rmSync} from 'node:fs'
import {isAbsolute, join, resolve} from 'node:path'
import type {CommitHook} from '../claims/load.js'
import {findGitRoot, git} from '../claims/repo.js'
import {UserError} from '../core/errors.js'
import {replaceFileSync} from '../output-file.js'

export const HOOK_MARKER = '# steme-verify hook'
export const BACKUP_SUFFIX = '.steme-backup'

export interface HookInput {
  cwd: string
  force?: boolean
  /** The command the hook runs steme with: [node, script] of the installing CLI, tried before `steme` on PATH. */
  self?: {node: string; script: string}
  /** Extra verify flags baked into the hook, e.g. --fail-on-warn. */
  args?: string[]
}

export interface HookResult {
  path: string
  action: 'installed' | 'updated' | 'uninstalled' | 'restored' | 'absent'
  /** Where a previous hook was kept, or where it was restored from. */
  backup?: string
  /** After install: whether the repo has a claims file yet (without one, verify refuses every commit). */
  claimsFile?: boolean
}

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

export function hookScript(self: HookInput['self'], args: readonly string[] = []): string {
  const verify = ['verify', '--staged', ...args].map(q).join(' ')
  const lines = [
    '#!/bin/sh',
    HOOK_MARKER,
    '# Checks .steme/claims.toml against what is being committed. Installed by `steme hook install`;',
    '# `steme hook uninstall` removes it and restores the hook it replaced. Skip once: SKIP=steme-verify git commit ...',
    'case ",$(printf %s "${SKIP:-}" | tr -d \' \')," in',
    '  *,steme-verify,*) echo "steme: SKIP=steme-verify is set, claims not verified" >&2; exit 0 ;;',
    'esac',
  ]
  if (self) lines.push(`if [ -x ${q(self.node)} ] && [ -f ${q(self.script)} ]; then`, `  exec ${q(self.node)} ${q(self.script)} ${verify}`, 'fi')
  lines.push(
    'if command -v steme >/dev/null 2>&1; then',
    `  exec steme ${verify}`,
    'fi',
    `echo "steme: cannot find the steme CLI${self ? ` (installed from ${self.script.replaceAll('"', '')})` : ''}; install it, run \\\`steme hook install\\\` again, or skip once with SKIP=steme-verify" >&2`,
    'exit 1',
    '',
  )
  return seal(lines.join('\n'))
}

// The marker line carries a digest of the script as steme wrote it (with the bare marker in its
// place), so a hook someone has edited since is told apart from one steme may replace or remove.
const MARKER_LINE = /^# steme-verify hook(?: sha256:([0-9a-f]{64}))?$/m
const digest = (script: string) => createHash('sha256').update(script).digest('hex')
const seal = (script: string) => script.replace(MARKER_LINE, `${HOOK_MARKER} sha256:${digest(script)}`)

/** Whose the hook at path is: steme's as written, steme's but edited since (or written by a steme before digests), or someone else's. */
export function hookState(path: string): 'absent' | 'ours' | 'edited' | 'foreign' {
  if (!existsSync(path)) return 'absent'
  const text = readFileSync(path, 'utf8')
  const m = MARKER_LINE.exec(text)
  if (!m) return 'foreign'
  return m[1] !== undefined && digest(text.replace(m[0], HOOK_MARKER)) === m[1] ? 'ours' : 'edited'
}

const EDITED = "is steme's hook, edited since steme wrote it (or written by an older steme)"

/** The pre-commit hook path, honouring core.hooksPath and worktrees. */
export function hookPath(cwd: string): string {
  const root = findGitRoot(cwd)
  if (!root) throw new UserError(`${resolve(cwd)} is not inside a git repository`, {code: 'usage', hint: 'run `git init` first, or cd into your repo'})
  const dir = git(root, ['rev-parse', '--git-path', 'hooks']).trim()
  return join(isAbsolute(dir) ? dir : join(root, dir), 'pre-commit')
}

/** What runs before commits in the repo at cwd: steme's hook as it wrote it (uninstall removes it), another hook (edited ones too: uninstall leaves them), or none. */
export function commitHook(cwd: string): CommitHook {
  const path = hookPath(cwd)
  const state = hookState(path)
  return state === 'absent' ? {kind: 'none'} : state === 'ours' ? {kind: 'steme'} : {kind: 'other', path}
}

export function installHookOp(input: HookInput): HookResult {
  const path = hookPath(input.cwd)
  const backup = path + BACKUP_SUFFIX
  let action: HookResult['action'] = 'installed'
  let kept: string | undefined
  const state = hookState(path)
  if (state === 'ours') action = 'updated'
  else if (state !== 'absent') {
    if (!input.force) {
      throw new UserError(state === 'edited' ? `${path} ${EDITED}: replacing it would lose the edits` : `${path} already exists and is not steme's hook`, {
        code: 'conflict',
        hint: 'pass --force to replace it (it is kept and `steme hook uninstall` restores it), or call `steme verify --staged` from it yourself',
      })
    }
    if (existsSync(backup)) throw new UserError(`${backup} already exists, so the current hook cannot be kept`, {code: 'conflict', hint: 'move or delete that backup first'})
    renameSync(path, backup)
    kept = backup
  }
  mkdirSync(resolve(path, '..'), {recursive: true})
  replaceFileSync(path, hookScript(input.self, input.args), 0o755)
  const claimsFile = existsSync(join(findGitRoot(input.cwd)!, '.steme', 'claims.toml'))
  return {path, action, ...(kept ? {backup: kept} : {}), claimsFile}
}

export function uninstallHookOp(input: Pick<HookInput, 'cwd'>): HookResult {
  const path = hookPath(input.cwd)
  const backup = path + BACKUP_SUFFIX
  if (!existsSync(path)) {
    if (existsSync(backup)) {
      renameSync(backup, path)
      return {path, action: 'restored', backup}
    }
    return {path, action: 'absent'}
  }
  const state = hookState(path)
  if (state !== 'ours') {
    throw new UserError(state === 'edited' ? `${path} ${EDITED}; leaving it alone, with the edits` : `${path} is not steme's hook; leaving it alone`, {
      code: 'conflict',
      hint: `remove it by hand if you want it gone${existsSync(backup) ? ` (the hook it replaced is kept as ${backup})` : ''}`,
    })
  }
  rmSync(path)
  if (existsSync(backup)) {
    renameSync(backup, path)
    return {path, action: 'restored', backup}
  }
  return {path, action: 'uninstalled'}
}
