/** Baselines: adopt claims on an existing repo by accepting today's failures, keyed by claim id (never lines). */
import {existsSync, readFileSync} from 'node:fs'
import {relative} from 'node:path'
import {UserError} from '../core/errors.js'
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

export function readBaseline(path: string): Baseline {
  if (!existsSync(path)) throw new UserError(`no baseline at ${path}`, {code: 'config', hint: 'create it with `steme verify --update-baseline`'})
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    const reason = (e as Error).message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '')
    throw new UserError(`cannot read the baseline ${path}: ${reason}`, {code: 'config', hint: 'pass --baseline the path of a baseline file, or create one with `steme verify --update-baseline`'})
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw new UserError(`${path} is not valid JSON: ${(e as Error).message}`, {code: 'config', hint: 'regenerate it with `steme verify --update-baseline`'})
  }
  const b = doc as Baseline
  if (!b || typeof b !== 'object' || b.version !== 1 || !b.claims || typeof b.claims !== 'object' || Array.isArray(b.claims)) {
    throw new UserError(`${path} is not a steme baseline (version 1 with a "claims" object)`, {code: 'config', hint: 'regenerate it with `steme verify --update-baseline`'})
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

export function writeBaseline(path: string, b: Baseline): void {
  replaceFileSync(path, JSON.stringify(b, null, 2) + '\n')
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
