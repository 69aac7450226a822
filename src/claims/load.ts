/** Finding the repo root and its claims file (from the index with --staged), and loading it. */
import {existsSync, mkdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {UserError} from '../core/errors.js'
import {CLAIMS_FILE, validateClaims, type ClaimsFile} from './file.js'
import {checkLenses} from './lens-check.js'
import {committed, findGitRoot, findStemeRoot, howToStage, type RepoFiles, type SkipReason} from './repo.js'
import {replaceFileSync} from '../output-file.js'
import {shellWord} from '../core/words.js'

/** The repo root: the git work tree's top, else the directory holding `.steme/`, else cwd. */
export function repoRoot(cwd: string): string {
  return findGitRoot(cwd) ?? findStemeRoot(cwd) ?? resolve(cwd)
}

export function defaultClaimsPath(root: string): string {
  return join(root, '.steme', CLAIMS_FILE)
}

export interface LoadedClaims {
  claims: ClaimsFile
  /** Where the text came from: the working tree or the index. */
  from: 'worktree' | 'index'
  /** With a staged repo, a claims file read from the working tree because it is new and not staged: the commit would not hold it. */
  warning?: string
  /** The repo has no claims file at the default path (only with `noFile: 'empty'`): `claims` holds none. */
  missing?: true
}

const CLAIMS_MAX_BYTES = 4 * 1024 * 1024

/**
 * What runs `steme verify --staged` before each commit, as far as can be told: steme's own hook, another
 * pre-commit hook (the pre-commit framework's, or one written by hand) at `path`, or no hook at all.
 */
export type CommitHook = {kind: 'steme'} | {kind: 'other'; path: string} | {kind: 'none'}

export interface LoadOptions {
  cache?: boolean
  checkLenses?: boolean
  /** Asked only when a staged commit deletes the claims file, to say how to stop keeping claims; undefined when it cannot be told. */
  hook?: () => CommitHook | undefined
  /**
   * 'empty': a repo without a claims file at the default path (never committed, not in the index)
   * has no claims, rather than being an error; a file named by --claims must still exist.
   */
  noFile?: 'empty'
}

/**
 * Read and parse the claims file; with a staged repo, the version in the git index when it is there.
 * One that the index deletes (in the last commit, not in the index) is refused: the commit removes it,
 * and is not judged by a copy it leaves in the working tree. One never committed and not staged (new,
 * not yet added) is read from the working tree.
 */
export async function loadClaims(root: string, path: string | undefined, repo?: RepoFiles, files?: readonly string[], opts: LoadOptions = {}): Promise<LoadedClaims> {
  const abs = resolve(path ?? defaultClaimsPath(root))
  const rel = relative(root, abs).replaceAll('\\', '/')
  let text: string
  let name: string
  let from: LoadedClaims['from'] = 'worktree'
  const inRepo = repo?.staged && !rel.startsWith('..')
  if (inRepo && (files ?? (await repo.list())).includes(rel)) {
    const [c] = await repo.read([rel], CLAIMS_MAX_BYTES)
    if ('skipped' in c) throw stagedUnreadable(rel, c)
    text = c.text
    name = rel
    from = 'index'
  } else if (inRepo && (await committed(root, rel))) {
    throw claimsDeleted(rel, existsSync(abs), opts.hook)
  } else {
    if (!existsSync(abs) && path === undefined && opts.noFile === 'empty') {
      return {claims: validateClaims({}, '', rel), from, missing: true}
    }
    if (!existsSync(abs)) {
      // Named from the repo root, which a command run in a subdirectory (with a .steme of its own, perhaps) does not show.
      throw new UserError(`no claims file at ${rel.startsWith('..') ? abs : `${rel} in ${root}`}`, {
        code: 'config',
        // A file named by --claims is the one to add to: `claims add` alone writes the default file.
        hint:
          path === undefined
            ? repo?.staged
              ? // Before a commit: --claims is no way out of a hook, but removing the hook is, in a repo that keeps no claims.
                `add a claim with \`steme claims add\` (or write .steme/claims.toml by hand, see docs/claims.md) and \`git add\` it; ${stopKeeping(opts.hook).replace('to stop keeping claims in this repo', 'if this repo keeps no claims')}`
              : 'add a claim with `steme claims add`, write .steme/claims.toml by hand (see docs/claims.md), or pass --claims <file>'
            : `check the path, or start the file with \`steme claims add --claims ${shellWord(path)}\` (see docs/claims.md)`,
      })
    }
    name = rel.startsWith('..') ? abs : rel
    if (statSync(abs).isDirectory()) {
      throw new UserError(`the claims file ${path ?? name} is a directory`, {
        code: 'config',
        hint: path === undefined ? `move the directory away: steme keeps the claims in the file ${name}` : 'pass --claims the path of a claims file (a .toml file), not a directory',
      })
    }
    text = readFileSync(abs, 'utf8')
  }
  // As for the baseline: a new claims file is still read, so a repo's first claims can be tried before they are added.
  const warning = inRepo && from === 'worktree' ? `the claims file ${rel} is not staged, so the commit would not hold it: checking against the working tree's copy (${howToStage(root, rel)})` : undefined
  const cachePath = opts.cache && repo?.gitDir() ? join(repo.gitDir()!, 'steme', 'claims-cache.json') : undefined
  try {
    let raw = cachePath ? cachedToml(cachePath, text) : undefined
    if (raw) {
      const claims = validateClaims(raw, text, name)
      if (opts.checkLenses) await checkLenses(claims)
      return {claims, from, ...(warning ? {warning} : {})}
    }
    const {parseClaimsToml} = await import('./parse.js')
    raw = parseClaimsToml(text, name)
    // Validate (lenses included) before caching: a broken claims file leaves nothing behind.
    const claims = validateClaims(raw, text, name)
    if (opts.checkLenses) await checkLenses(claims)
    if (cachePath && isPlainData(raw)) saveToml(cachePath, text, raw)
    return {claims, from, ...(warning ? {warning} : {})}
  } catch (e) {
    throw from === 'index' ? inStagedCopy(e, name) : e
  }
}

/**
 * The commit deletes the claims file. Refused as a missing claims file is (exit 2): with the hook still
 * installed, every later commit would be refused for want of one. Keeping the file, or removing what
 * runs verify before the deletion is committed, are the two ways on.
 */
function claimsDeleted(rel: string, leftOnDisk: boolean, hook: LoadOptions['hook']): UserError {
  const message = leftOnDisk
    ? `the commit deletes the claims file ${rel} (in the last commit, not in the index), so there are no claims to check it against: the copy left in the working tree is not part of it`
    : `the commit deletes the claims file ${rel} (in the last commit, in neither the index nor the working tree), so there are no claims to check it against`
  const keep = leftOnDisk ? `to keep the claims, stage the file again: \`git add ${rel}\`` : `to keep the claims, bring the file back: \`git checkout HEAD -- ${rel}\``
  return new UserError(message, {code: 'config', hint: `${keep}; ${stopKeeping(hook)}`})
}

/** How to commit without claims: take out what runs `steme verify --staged` before each commit. */
function stopKeeping(hook: LoadOptions['hook']): string {
  let runner: CommitHook | undefined
  try {
    runner = hook?.()
  } catch {
    // Only the hint is less precise.
  }
  return runner?.kind === 'steme'
    ? 'to stop keeping claims in this repo, remove the pre-commit hook first (`steme hook uninstall`), then commit'
    : runner?.kind === 'other'
      ? `to stop keeping claims in this repo, first take \`steme verify --staged\` out of the pre-commit hook that runs it (${runner.path}; with the pre-commit framework, steme-verify in .pre-commit-config.yaml), then commit`
      : runner?.kind === 'none'
        ? 'to stop keeping claims in this repo, commit as it is: no pre-commit hook runs steme here'
        : 'to stop keeping claims in this repo, remove the pre-commit hook that runs `steme verify --staged` first (`steme hook uninstall` if steme installed it), then commit'
}

/**
 * The staged claims file cannot be read as claims. A symbolic link is the usual case: `steme verify`
 * reads through it on disk, but the commit holds only the link, so the hook refuses it.
 */
function stagedUnreadable(rel: string, c: {skipped: SkipReason; detail: string}): UserError {
  const why =
    c.skipped === 'too_large'
      ? `is over ${CLAIMS_MAX_BYTES / 1024 / 1024} MiB, too large for a claims file`
      : c.skipped === 'symlink'
        ? 'is a symbolic link: the commit would hold the link, not the claims (`steme verify` without --staged reads through it on disk)'
        : c.detail
  const hint =
    c.skipped === 'symlink'
      ? `put the file itself at ${rel} (\`cp --remove-destination "$(readlink -f ${shellWord(rel)})" ${shellWord(rel)}\`), then \`git add ${shellWord(rel)}\``
      : `stage the claims as TOML text at ${rel}, or unstage it with \`git rm --cached ${shellWord(rel)}\``
  return new UserError(`the staged claims file ${rel} ${why}`, {code: 'config', hint})
}

/** An error in a staged file (the claims file, the baseline) says so: the working tree's copy, the one an editor shows, may be fine. */
export function inStagedCopy(e: unknown, name: string): unknown {
  if (!(e instanceof UserError)) return e
  return new UserError(`${e.message} (in the staged copy, what the commit would hold)`, {
    code: e.code,
    exit: e.exit,
    at: e.at,
    cause: e,
    hint: `${e.hint ? `${e.hint}; ` : ''}fix ${name}, then \`git add ${name}\` (\`git diff --cached ${name}\` shows the staged text)`,
  })
}

// The parsed TOML of the last claims text, so that a hook run on unchanged claims skips loading and
// running the TOML parser. Keyed by the text itself: comparing it costs less than parsing it.
function cachedToml(path: string, text: string): Record<string, unknown> | undefined {
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as {text?: unknown; raw?: unknown}
    return doc.text === text && doc.raw && typeof doc.raw === 'object' ? (doc.raw as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function saveToml(path: string, text: string, raw: Record<string, unknown>): void {
  try {
    mkdirSync(dirname(path), {recursive: true})
    replaceFileSync(path, JSON.stringify({text, raw}))
  } catch {
    // Only speed is lost.
  }
}

/** Survives a JSON round trip unchanged: no dates, no NaN or infinities. */
function isPlainData(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true
  if (typeof v === 'number') return Number.isFinite(v)
  if (Array.isArray(v)) return v.every(isPlainData)
  if (typeof v !== 'object') return false
  // Tables come with a null prototype (smol-toml guards against prototype pollution); dates are objects too.
  const proto = Object.getPrototypeOf(v)
  if (proto === null || proto === Object.prototype) return Object.values(v as object).every(isPlainData)
  return false
}
