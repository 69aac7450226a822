/** Finding the repo root and its claims file (from the index with --staged), and loading it. */
import {existsSync, readFileSync} from 'node:fs'
import {join, relative, resolve} from 'node:path'
import {UserError} from '../core/errors.js'
import {CLAIMS_FILE, parseClaims, type ClaimsFile} from './file.js'
import {findGitRoot, findStemeRoot, type RepoFiles} from './repo.js'

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
}

const CLAIMS_MAX_BYTES = 4 * 1024 * 1024

/** Read and parse the claims file; with a staged repo, the version in the git index when it is there. */
export async function loadClaims(root: string, path: string | undefined, repo?: RepoFiles, files?: readonly string[]): Promise<LoadedClaims> {
  const abs = resolve(path ?? defaultClaimsPath(root))
  const rel = relative(root, abs).replaceAll('\\', '/')
  if (repo?.staged && !rel.startsWith('..') && (files ?? (await repo.list())).includes(rel)) {
    const [c] = await repo.read([rel], CLAIMS_MAX_BYTES)
    if ('skipped' in c) throw new UserError(`the staged claims file ${rel} ${c.detail}`, {code: 'config'})
    return {claims: parseClaims(c.text, rel), from: 'index'}
  }
  if (!existsSync(abs)) {
    throw new UserError(`no claims file at ${rel.startsWith('..') ? abs : rel}`, {
      code: 'config',
      hint: 'add a claim with `steme claims add`, write .steme/claims.toml by hand (see docs/claims.md), or pass --claims <file>',
    })
  }
  return {claims: parseClaims(readFileSync(abs, 'utf8'), rel.startsWith('..') ? abs : rel), from: 'worktree'}
}
