/** Baselines: adopt claims on an existing repo by accepting today's failures, keyed by claim id (never lines). */
import {existsSync, readFileSync} from 'node:fs'
import {relative, resolve} from 'node:path'
import {oneLine, UserError} from '../core/errors.js'
import {inStagedCopy} from './load.js'
import {committed, howToStage, type RepoFiles} from './repo.js'
import type {Status, Verdict} from './verdict.js'
import {replaceFileSync} from '../output-file.js'

export const BASELINE_FILE = 'claims-baseline.json'

export interface BaselineEntry {
  status: Exclude<Status, 'PASS'>
  severity: string
  message: string
}

export interface Baseline {
  version: 1
  claims: Record<string, BaselineEntry>
}

function readText(path: string): string {
  if (!existsSync(path)) throw new UserError(`no baseline at ${path}`, {code: 'config', hint: 'create it with `steme verify --update-baseline`'})
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    const reason = (e as Error).message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '')
    throw new UserError(`cannot read the baseline ${path}: ${reason}`, {code: 'config', hint: 'pass --baseline the path of a baseline file, or create one with `steme verify --update-baseline`'})
  }
}

export interface LoadedBaseline {
  baseline: Baseline
  /** Where it was read: the working tree, or the git index (--staged, when the index holds it). */
  from: 'worktree' | 'index'
  text: string
}

export interface BaselineSource {
  /** The baseline the run uses; none when there is no file (the default one is optional) or the index deletes it. */
  loaded?: LoadedBaseline
  /** With --staged, why what the commit holds and the baseline used (or not used) differ. */
  warning?: string
}

/** A baseline bounds its own size only by the claims it lists: far below this. */
const BASELINE_MAX_BYTES = 64 * 1024 * 1024

/**
 * The baseline a run uses. With --staged it is read as the claims file is: the index's copy when
 * the index holds it, so a commit is judged by the baseline it holds, and an unstaged edit changes
 * nothing. One that is only in the working tree (new, not yet added) is used from there, as a claims
 * file not yet added is, with a warning that the commit would not hold it. One that the index
 * deletes (`git rm --cached`: in the last commit, not in the index) is not used: the commit removes
 * it, and its verdict must not rest on a copy it leaves behind. `optional`: no file is no baseline
 * (the default path), rather than an error (a path the user named).
 */
export async function loadBaseline(root: string, path: string, opts: {optional: boolean; repo?: RepoFiles; files?: readonly string[]}): Promise<BaselineSource> {
  const abs = resolve(path)
  const rel = relative(root, abs).replaceAll('\\', '/')
  const {repo} = opts
  let warning: string | undefined
  if (repo?.staged && !rel.startsWith('..')) {
    if ((opts.files ?? (await repo.list())).includes(rel)) {
      const [c] = await repo.read([rel], BASELINE_MAX_BYTES)
      if ('skipped' in c) {
        const why = c.skipped === 'too_large' ? `is over ${BASELINE_MAX_BYTES / 1024 / 1024} MiB, too large for a baseline` : c.detail
        throw new UserError(`the staged baseline ${rel} ${why}`, {code: 'config', hint: `stage a baseline file there (\`steme verify --update-baseline\`, then \`git add ${rel}\`), or unstage it with \`git rm --cached ${rel}\``})
      }
      try {
        return {loaded: {baseline: parseBaseline(c.text, rel), from: 'index', text: c.text}}
      } catch (e) {
        throw inStagedCopy(e, rel)
      }
    }
    if (existsSync(abs)) {
      if (await committed(root, rel)) {
        return {warning: `the baseline ${rel} is deleted in the index, so the commit removes it: judging it without a baseline, not by the copy left in the working tree`}
      }
      warning = `the baseline ${rel} is not staged, so the commit would not hold it: using the working tree's copy (${howToStage(root, rel)})`
    }
  }
  if (opts.optional && !existsSync(abs)) return {}
  const text = readText(path)
  return {loaded: {baseline: parseBaseline(text, path), from: 'worktree', text}, ...(warning ? {warning} : {})}
}

/** A baseline's text, checked: `name` says where it came from in errors. */
export function parseBaseline(text: string, name: string): Baseline {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw new UserError(`${name} is not valid JSON: ${oneLine((e as Error).message)}`, {code: 'config', hint: 'regenerate it with `steme verify --update-baseline`'})
  }
  const b = doc as Baseline
  if (!b || typeof b !== 'object' || b.version !== 1 || !b.claims || typeof b.claims !== 'object' || Array.isArray(b.claims)) {
    throw new UserError(`${name} is not a steme baseline (version 1 with a "claims" object)`, {code: 'config', hint: 'regenerate it with `steme verify --update-baseline`'})
  }
  return b
}

/**
 * The baseline that accepts every failure in these verdicts. Sorted by id, so diffs stay small.
 * An UNCHECKED claim is not accepted: that says nothing of the repo, and accepting it would hide
 * whatever its check finds once it can run (the baseline is keyed by id, not status). It keeps
 * the entry it had in `previous`, if any.
 */
export function baselineOf(verdicts: readonly Verdict[], previous?: Baseline): Baseline {
  const claims: Record<string, BaselineEntry> = {}
  for (const v of [...verdicts].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (v.status === 'UNCHECKED') {
      if (previous?.claims[v.id]) claims[v.id] = previous.claims[v.id]
    } else if (v.status !== 'PASS') claims[v.id] = {status: v.status, severity: v.severity, message: v.message}
  }
  return {version: 1, claims}
}

/** The text a baseline is written as: sorted by id in baselineOf, so diffs stay small. */
export function baselineText(b: Baseline): string {
  return JSON.stringify(b, null, 2) + '\n'
}

export function writeBaseline(path: string, b: Baseline): void {
  replaceFileSync(path, baselineText(b))
}

/** Mark failures known or new; return the ids in the baseline that pass now (fixed, can be dropped). */
export function applyBaseline(verdicts: Verdict[], b: Baseline): string[] {
  const fixed: string[] = []
  for (const v of verdicts) {
    if (v.status === 'PASS') {
      if (b.claims[v.id]) fixed.push(v.id)
    } else v.baseline = b.claims[v.id] ? 'known' : 'new'
  }
  return fixed
}

/** A baseline's path as the reports name it: from the repo root when inside the repo. */
export function baselineName(root: string, path: string): string {
  const rel = relative(root, path).replaceAll('\\', '/')
  return rel.startsWith('..') ? path : rel
}
