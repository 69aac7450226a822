/** Install and uninstall the git pre-commit hook that runs `steme verify --staged`, keeping any previous hook. */
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync} from 'node:fs'
import {dirname, isAbsolute, join, resolve} from 'node:path'
import type {CommitHook} from '../claims/load.js'
import {findGitRoot, git, gitAsync} from '../claims/repo.js'
import {UserError} from '../core/errors.js'
import {replaceFileSync} from '../output-file.js'

export const HOOK_MARKER = '# steme-verify hook'
export const BACKUP_SUFFIX = '.steme-backup'
/**
 * `git merge` runs pre-merge-commit, not pre-commit, before it records a merge it made without
 * conflicts: without this second hook, two branches that each pass (one adding a claim, the other a
 * change that breaks it) merge into a commit nobody verified.
 */
export const MERGE_HOOK = 'pre-merge-commit'

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
  /** The pre-merge-commit hook (merges `git merge` makes without conflicts): what was done with it, or why it was left alone. */
  merge?: {path: string; action: HookResult['action'] | 'kept'; backup?: string; reason?: string}
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
  if (!present(path)) return 'absent'
  // A symbolic link to nothing (yet: a hook a build or `npm install` provides) is someone's hook all the
  // same, and so is anything else that is no file steme could have written (a directory).
  if (!existsSync(path) || statSync(path).isDirectory()) return 'foreign'
  const text = readFileSync(path, 'utf8')
  const m = MARKER_LINE.exec(text)
  if (!m) return 'foreign'
  return m[1] !== undefined && digest(text.replace(m[0], HOOK_MARKER)) === m[1] ? 'ours' : 'edited'
}

/** Whether anything is at path, a symbolic link to nothing included (existsSync follows links). */
function present(path: string): boolean {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}

const EDITED = "is steme's hook, edited since steme wrote it (or written by an older steme)"

/** The pre-commit hook path (or another hook's, by name), honouring core.hooksPath and worktrees. */
export function hookPath(cwd: string, name = 'pre-commit'): string {
  const root = findGitRoot(cwd)
  if (!root) throw new UserError(`${resolve(cwd)} is not inside a git repository`, {code: 'usage', hint: 'run `git init` first, or cd into your repo'})
  const dir = git(root, ['rev-parse', '--git-path', 'hooks']).trim()
  return join(isAbsolute(dir) ? dir : join(root, dir), name)
}

/** What runs before commits in the repo at cwd: steme's hook as it wrote it (uninstall removes it), another hook (edited ones too: uninstall leaves them), or none. */
export function commitHook(cwd: string): CommitHook {
  const path = hookPath(cwd)
  const state = hookState(path)
  return state === 'absent' ? {kind: 'none'} : state === 'ours' ? {kind: 'steme'} : {kind: 'other', path}
}

/**
 * Why merges go unverified in the repo at root, when its pre-commit hook is steme's and it has no
 * pre-merge-commit hook: a steme before that hook existed installed only the first, and nothing
 * else would tell the teammates who installed it then. Undefined otherwise, or when git cannot say.
 */
export async function mergeHookGap(root: string): Promise<string | undefined> {
  let dir: string
  try {
    dir = (await gitAsync(root, ['rev-parse', '--git-path', 'hooks'])).trim()
  } catch {
    return undefined
  }
  const hooks = isAbsolute(dir) ? dir : join(root, dir)
  const pre = hookState(join(hooks, 'pre-commit'))
  if ((pre !== 'ours' && pre !== 'edited') || hookState(join(hooks, MERGE_HOOK)) !== 'absent') return undefined
  // A hook from a steme before digests reads as edited, and install replaces that only with --force (keeping it).
  const run = pre === 'ours' ? '`steme hook install`' : '`steme hook install --force` (your current pre-commit hook is kept beside it)'
  return `merges \`git merge\` makes without conflicts are not verified here: steme's pre-commit hook is installed but not its ${MERGE_HOOK} hook, which git runs for them instead; run ${run} to add it`
}

/**
 * Where core.hooksPath is set when a git config file shared beyond this repo sets it (global or
 * system) to one directory (absolute, or under ~): every repository using that file runs the hooks
 * there. Undefined when the repo's own config sets it, when it is relative (a directory in each
 * repo), when nothing sets it, or when git is too old to say (--show-scope, 2.26).
 */
export function sharedHooksPath(root: string): {scope: string; file: string; value: string} | undefined {
  const r = spawnSync('git', ['config', '--show-scope', '--show-origin', '--get', 'core.hooksPath'], {cwd: root, encoding: 'utf8'})
  if (r.status !== 0 || !r.stdout) return undefined
  const [scope, origin = '', ...value] = r.stdout.replace(/\n$/, '').split('\t')
  const dir = value.join('\t')
  // A relative path (`.githooks`) names a directory in each repo, not one they share.
  if ((scope !== 'global' && scope !== 'system') || !(isAbsolute(dir) || dir.startsWith('~'))) return undefined
  return {scope, file: origin.replace(/^file:/, ''), value: dir}
}

export function installHookOp(input: HookInput): HookResult {
  const path = hookPath(input.cwd)
  // A hooks directory every repository shares would make steme's hook refuse commits in all those
  // that keep no claims; --force (which replaces a hook) does not override this.
  const root = findGitRoot(input.cwd)!
  const shared = sharedHooksPath(root)
  if (shared) {
    const own = join(resolve(root, git(root, ['rev-parse', '--git-common-dir']).trim()), 'hooks')
    throw new UserError(
      `core.hooksPath is set in your ${shared.scope} git config (${shared.file}) to ${shared.value}, a hooks directory every repository on this machine uses: a steme hook there would refuse commits in each repo without .steme/claims.toml`,
      {code: 'conflict', hint: `give this repo hooks of its own (\`git config core.hooksPath ${q(own)}\`, then \`steme hook install\` again), or call \`steme verify --staged\` from your shared pre-commit hook in repos that keep claims`},
    )
  }
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
    if (present(backup)) throw new UserError(`${backup} already exists, so the current hook cannot be kept`, {code: 'conflict', hint: 'move or delete that backup first'})
    kept = backup
  }
  // The merge hook is looked at before anything is written, so a backup in the way refuses the
  // whole install rather than leave it half done.
  const mergePath = join(dirname(path), MERGE_HOOK)
  const mergeBackup = mergePath + BACKUP_SUFFIX
  const mergeState = hookState(mergePath)
  const replaceMerge = mergeState === 'absent' || mergeState === 'ours' || input.force
  if (replaceMerge && (mergeState === 'foreign' || mergeState === 'edited') && present(mergeBackup)) {
    throw new UserError(`${mergeBackup} already exists, so the current ${MERGE_HOOK} hook cannot be kept`, {code: 'conflict', hint: 'move or delete that backup first'})
  }
  if (state !== 'absent' && state !== 'ours') renameSync(path, backup)
  mkdirSync(dirname(path), {recursive: true})
  const script = hookScript(input.self, input.args)
  replaceFileSync(path, script, 0o755)
  let merge: NonNullable<HookResult['merge']>
  if (replaceMerge) {
    let mergeKept: string | undefined
    if (mergeState === 'foreign' || mergeState === 'edited') {
      renameSync(mergePath, mergeBackup)
      mergeKept = mergeBackup
    }
    replaceFileSync(mergePath, script, 0o755)
    merge = {path: mergePath, action: mergeState === 'ours' ? 'updated' : 'installed', ...(mergeKept ? {backup: mergeKept} : {})}
  } else {
    merge = {
      path: mergePath,
      action: 'kept',
      reason: `${mergePath} ${mergeState === 'edited' ? EDITED : "is not steme's hook"}, so merges \`git merge\` makes without conflicts are not verified: pass --force to replace it (it is kept and \`steme hook uninstall\` restores it), or call \`steme verify --staged\` from it`,
    }
  }
  const claimsFile = existsSync(join(root, '.steme', 'claims.toml'))
  return {path, action, ...(kept ? {backup: kept} : {}), claimsFile, merge}
}

export function uninstallHookOp(input: Pick<HookInput, 'cwd'>): HookResult {
  const path = hookPath(input.cwd)
  // The commit hook first: one left alone (edited, or not steme's) refuses the uninstall before the
  // merge hook is touched, rather than remove that one under an error saying nothing was changed.
  const main = uninstallOne(path)
  // steme's merge hook goes too (and the hook it replaced comes back); any other is left alone.
  const mergePath = join(dirname(path), MERGE_HOOK)
  const mergeState = hookState(mergePath)
  const merge = mergeState === 'ours' || (mergeState === 'absent' && present(mergePath + BACKUP_SUFFIX)) ? uninstallOne(mergePath) : undefined
  return {...main, ...(merge ? {merge} : {})}
}

function uninstallOne(path: string): HookResult {
  const backup = path + BACKUP_SUFFIX
  const state = hookState(path)
  if (state === 'absent') {
    if (present(backup)) {
      renameSync(backup, path)
      return {path, action: 'restored', backup}
    }
    return {path, action: 'absent'}
  }
  if (state !== 'ours') {
    throw new UserError(state === 'edited' ? `${path} ${EDITED}; leaving it alone, with the edits` : `${path} is not steme's hook; leaving it alone`, {
      code: 'conflict',
      hint: `remove it by hand if you want it gone${present(backup) ? ` (the hook it replaced is kept as ${backup})` : ''}`,
    })
  }
  rmSync(path)
  if (present(backup)) {
    renameSync(backup, path)
    return {path, action: 'restored', backup}
  }
  return {path, action: 'uninstalled'}
}
