/** The comparisons a claim can make between its expected value and one observed value. */
import {canonicalize} from '../core/canonical.js'
import type {Json} from '../core/record.js'
import type {Claim} from './file.js'

export interface Check {
  ok: boolean
  /** Why it failed, in words. */
  reason?: string
}

const show = (v: Json | undefined) => (v === undefined ? '(nothing)' : typeof v === 'string' ? JSON.stringify(v) : canonicalize(v))

/** Equality across the types files produce: 1.3 equals "1.3", true equals "true"; otherwise canonical JSON equality. */
export function looseEqual(a: Json, b: Json): boolean {
  if (canonicalize(a) === canonicalize(b)) return true
  const scalar = (x: Json) => typeof x === 'number' || typeof x === 'boolean' || typeof x === 'string'
  if (scalar(a) && scalar(b) && typeof a !== typeof b) {
    const num = (x: Json) => (typeof x === 'string' && x.trim() !== '' ? Number(x) : x)
    if (typeof a === 'number' || typeof b === 'number') return num(a) === num(b)
    return String(a) === String(b)
  }
  return false
}

// One version, as in package.json engines and .nvmrc: an optional range operator and "v", numbers
// separated by dots, "x"/"*" wildcards after the first; a pre-release or build suffix only after a
// dotted version ("1.2.3-rc.1", "20.0.0+build"), so an ISO date such as "2024-01-01" is not a version.
const version = (group: '' | '?:') =>
  String.raw`(?:[<>=^~]{1,2}\s*)?[vV]?(${group}\d+(?:\.(?:\d+|[xX*]))*)(?:(?<=\.(?:\d+|[xX*]))(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)?`
// A range is versions joined by spaces, "||" or " - " ("^18.18 || >=20", ">=18 <21"); its first version counts.
const VERSION_LIKE = new RegExp(String.raw`^\s*${version('')}(?:(?:\s*\|\|\s*|\s+-\s+|\s+)${version('?:')})*\s*$`)

/**
 * A version-like string as numbers: "v20.11.1", ">=20.19", "^1.2", "20", "20.x" (range operators
 * and "v" dropped, wildcards and pre-release tags ignored; a range counts by its first version).
 * Undefined for anything else: "lts/argon", "node", "latest", "20abc", "2024-01-01".
 */
export function versionOf(v: Json): number[] | undefined {
  if (typeof v === 'number') return String(v).split('.').map(Number)
  if (typeof v !== 'string') return undefined
  const m = VERSION_LIKE.exec(v)
  return m ? m[1].split('.').filter((p) => /^\d+$/.test(p)).map(Number) : undefined
}

/**
 * Order two values: numbers numerically, numeric strings against numbers as numbers, versions
 * segment by segment, other strings by code point. A version against a string that is not one has
 * no order ("lts/argon" is not below or above "20.19"), nor has anything against a table.
 */
export function order(a: Json, b: Json): number | undefined {
  const isNum = (x: Json) => typeof x === 'number' || (typeof x === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(x) && !/^\s*\d+\.\d+\.\d+/.test(x))
  if (isNum(a) && isNum(b) && (typeof a === 'number' || typeof b === 'number')) return Math.sign(Number(a) - Number(b))
  const va = versionOf(a)
  const vb = versionOf(b)
  if (va && vb) {
    for (let i = 0; i < Math.max(va.length, vb.length); i++) {
      const d = (va[i] ?? 0) - (vb[i] ?? 0)
      if (d) return Math.sign(d)
    }
    return 0
  }
  if (va || vb) return undefined
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  return undefined
}

/** The text a `matches` pattern is tested on: a string as it is, any other value as canonical JSON. */
export const matchText = (v: Json) => (typeof v === 'string' ? v : canonicalize(v))

/**
 * Check one observed value against a claim (present/absent are decided on the set of observations, not here).
 * `matched` is the outcome of a `matches` pattern tested under the time budget; without it the pattern runs here.
 */
export function check(claim: Claim, observed: Json, matched?: boolean): Check {
  const expect = claim.expect as Json
  switch (claim.compare) {
    case 'eq':
      return looseEqual(observed, expect) ? {ok: true} : {ok: false, reason: `expected ${show(expect)}, observed ${show(observed)}`}
    case 'gte':
    case 'lte': {
      const o = order(observed, expect)
      if (o === undefined) {
        // A version against some other string: name the one that is not a version (an .nvmrc alias, say).
        const plain = [observed, expect].find((v) => typeof v === 'string' && !versionOf(v))
        const mixed = plain !== undefined && [observed, expect].some((v) => versionOf(v))
        return {ok: false, reason: `cannot order ${show(observed)} against ${show(expect)}${mixed ? ` (${show(plain)} is not a version)` : ''}`}
      }
      const ok = claim.compare === 'gte' ? o >= 0 : o <= 0
      return ok ? {ok} : {ok, reason: `expected ${claim.compare === 'gte' ? '>=' : '<='} ${show(expect)}, observed ${show(observed)}`}
    }
    case 'in': {
      const ok = (expect as Json[]).some((e) => looseEqual(observed, e))
      return ok ? {ok} : {ok, reason: `expected one of ${show(expect)}, observed ${show(observed)}`}
    }
    case 'matches': {
      claim.pattern!.lastIndex = 0
      const ok = matched ?? claim.pattern!.test(matchText(observed))
      return ok ? {ok} : {ok, reason: `expected to match /${claim.pattern!.source}/, observed ${show(observed)}`}
    }
    case 'present':
      return {ok: true}
    case 'absent':
      return {ok: false, reason: `expected nothing, observed ${show(observed)}`}
  }
}

export {show as showValue}
