/** Reports of a verify run: the human table, SARIF 2.1.0 for code-scanning UIs, and JUnit XML for CI test tabs. */
import type {VerifyResult} from '../ops/verify.js'
import {showValue} from './compare.js'
import {where} from './observation.js'
import type {Verdict} from './verdict.js'
import {plural} from '../core/words.js'
import {baselineName} from './baseline.js'
import {field, shown, visible, type Cell} from '../ui/table.js'

const cut = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s)

function expected(v: Verdict): string {
  switch (v.compare) {
    case 'eq':
      return showValue(v.expect)
    case 'gte':
      return `>= ${showValue(v.expect)}`
    case 'lte':
      return `<= ${showValue(v.expect)}`
    case 'in':
      return `in ${showValue(v.expect)}`
    case 'matches':
      return `~ /${String(v.expect)}/`
    case 'present':
      return 'present'
    case 'absent':
      return 'absent'
  }
}

function observed(v: Verdict): {value: string; at: string} {
  if (v.failures.length) return {value: showValue(v.failures[0].value) + (v.failures.length > 1 ? ` (+${v.failures.length - 1})` : ''), at: v.failures[0].where}
  if (v.observed.length) return {value: showValue(v.observed[0].value) + (v.observed.length > 1 ? ` (+${v.observed.length - 1})` : ''), at: where(v.observed[0])}
  return {value: '-', at: '-'}
}

export interface TableOptions {
  color: boolean
  table: (headers: string[], rows: Cell[][]) => string
}

/**
 * The default human report: one row per claim, then failures explained, unclaimed observations and warnings.
 * Claims, file paths and values come from the repo: names and paths print bare through field(),
 * values as JSON, and composed sentences through visible() (src/core/text.ts).
 */
export function renderTable(res: VerifyResult, opts: TableOptions): string {
  const paint = (code: string, s: string) => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s)
  const status = (v: Verdict) => {
    const s = v.baseline === 'known' ? `${v.status}*` : v.status
    return v.status === 'PASS' ? paint('32', s) : v.fails ? paint('31', s) : paint('33', s)
  }
  const lines: string[] = []
  const rows = res.verdicts.map((v) => {
    const o = observed(v)
    return [v.status + (v.baseline === 'known' ? '*' : ''), v.severity, v.id, shown(cut(expected(v), 30)), shown(cut(o.value, 30)), o.at]
  })
  const t = opts.table(['STATUS', 'SEVERITY', 'CLAIM', 'EXPECTED', 'OBSERVED', 'WHERE'], rows).split('\n')
  lines.push(t[0])
  // Colour after layout, so escape codes never skew the column widths.
  t.slice(1).forEach((row, i) => lines.push(opts.color ? row.replace(rows[i][0] as string, status(res.verdicts[i])) : row))

  const failing = res.verdicts.filter((v) => v.status !== 'PASS')
  if (failing.length) {
    lines.push('')
    for (const v of failing) {
      const tag = v.fails ? paint('31', '✗') : paint('33', '!')
      const note = v.baseline === 'known' ? ' [in baseline]' : v.fails ? '' : ' [not failing: warn]'
      lines.push(`${tag} ${field(v.id)} (${v.severity})${note}: ${visible(v.message)}`)
      for (const f of v.failures.slice(1, 5)) lines.push(`    also ${visible(f.reason)} at ${field(f.where)}`)
      if (v.failures.length > 5) lines.push(`    ... and ${v.failures.length - 5} more (--json lists them all)`)
      if (v.why) lines.push(`    why: ${field(v.why)}`)
      lines.push(`    claim: ${field(res.claimsFile)}:${v.line}`)
    }
  }
  if (res.unclaimed.length) {
    lines.push('', `UNCLAIMED (${plural(res.unclaimed.length, 'observation')} under claimed subjects, no claim covers them)`)
    for (const o of res.unclaimed.slice(0, 10)) lines.push(`  ${field(o.subject)} ${field(o.predicate)} = ${visible(cut(showValue(o.value), 40))}  ${field(where(o))}`)
    if (res.unclaimed.length > 10) lines.push(`  ... and ${res.unclaimed.length - 10} more (--json lists them all)`)
  }
  if (res.baseline?.fixed.length) lines.push('', `fixed since the baseline: ${res.baseline.fixed.map(field).join(', ')} (drop them with \`steme verify --update-baseline\`)`)
  const s = res.summary
  const parts = [`${s.pass} pass`, `${s.conflict} conflict`, `${s.missing} missing`]
  if (s.unchecked) parts.push(`${s.unchecked} unchecked`)
  if (s.known) parts.push(`${s.known} in baseline`)
  lines.push('', `${plural(s.claims, 'claim')}: ${parts.join(', ')}${res.staged ? ' (staged content)' : ''}`)
  if (res.baseline?.updated) {
    lines.push(`baseline written to ${field(res.baseline.path)} (${plural(s.known, 'accepted failure')})`)
    // --staged judged what is staged, and wrote the working tree: the commit holds the baseline only once it is added.
    if (res.baseline.staged === false) {
      const name = baselineName(res.root, res.baseline.path)
      lines.push(`not staged: \`git add ${field(name)}\` so the commit holds it (verify --staged reads the staged copy)`)
    }
    const unchecked = res.verdicts.filter((v) => v.status === 'UNCHECKED' && v.baseline !== 'known').map((v) => field(v.id))
    if (unchecked.length) lines.push(`not accepted, since they could not be checked: ${unchecked.join(', ')}`)
  }
  // Updating a baseline fails too when a claim could not be checked: it is not accepted.
  if (!res.ok) lines.push(paint('31', `FAILED: ${s.failing} claim${s.failing === 1 ? '' : 's'} ${s.failing === 1 ? 'fails' : 'fail'}`) + (res.staged ? ' — the commit is refused. Fix it, or skip once with SKIP=steme-verify git commit ...' : ''))
  return lines.join('\n') + '\n'
}

/** SARIF 2.1.0: one rule per claim, one result per failing claim, located in the file that failed it. */
export function renderSarif(res: VerifyResult, toolVersion: string): string {
  const rules = res.verdicts.map((v) => ({
    id: v.id,
    name: v.id,
    shortDescription: {text: `${v.subject} ${v.predicate} ${expected(v)}`},
    ...(v.why ? {fullDescription: {text: v.why}, help: {text: v.why}} : {}),
    defaultConfiguration: {level: v.severity === 'error' ? 'error' : 'warning'},
  }))
  const results = res.verdicts
    .map((v, ruleIndex) => ({v, ruleIndex}))
    .filter(({v}) => v.status !== 'PASS')
    .map(({v, ruleIndex}) => {
      const f = v.failures[0]
      const file = f?.file ?? res.claimsFile
      const line = f?.file ? (f.line ?? 1) : v.line
      return {
        ruleId: v.id,
        ruleIndex,
        level: v.severity === 'error' ? 'error' : 'warning',
        kind: 'fail',
        message: {text: `${v.status}: ${v.message}${v.why ? ` (why: ${v.why})` : ''}`},
        locations: [{physicalLocation: {artifactLocation: {uri: encodeURI(file), uriBaseId: '%SRCROOT%'}, region: {startLine: line}}}],
        partialFingerprints: {'stemeClaim/v1': v.id},
        ...(v.baseline ? {baselineState: v.baseline === 'known' ? 'unchanged' : 'new'} : {}),
        properties: {status: v.status, subject: v.subject, predicate: v.predicate, fails: v.fails},
      }
    })
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {driver: {name: 'steme', version: toolVersion, rules}},
        originalUriBaseIds: {'%SRCROOT%': {uri: 'file://' + encodeURI(res.root.endsWith('/') ? res.root : res.root + '/')}},
        results,
      },
    ],
  }
  return JSON.stringify(sarif, null, 2) + '\n'
}

const xml = (s: string) => s.replace(/[<>&"']/g, (c) => ({'<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;'})[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')

/** JUnit XML: each claim a test case; a failing claim is a <failure>; a tolerated one (warn, baseline) passes with a note. */
export function renderJunit(res: VerifyResult): string {
  const failures = res.verdicts.filter((v) => v.fails).length
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="steme verify" tests="${res.verdicts.length}" failures="${failures}" errors="0">`]
  out.push(`  <testsuite name="claims" tests="${res.verdicts.length}" failures="${failures}" errors="0" skipped="0">`)
  for (const v of res.verdicts) {
    const loc = v.failures[0]?.file ?? res.claimsFile
    out.push(`    <testcase classname="${xml(v.subject)}" name="${xml(v.id)}" file="${xml(loc)}">`)
    const text = `${v.message}${v.why ? `\nwhy: ${v.why}` : ''}\nclaim: ${res.claimsFile}:${v.line}`
    if (v.fails) out.push(`      <failure type="${v.status}" message="${xml(v.message)}">${xml(text)}</failure>`)
    else if (v.status !== 'PASS') out.push(`      <system-out>${xml(`${v.status} (${v.baseline === 'known' ? 'in baseline' : v.severity}): ${text}`)}</system-out>`)
    out.push('    </testcase>')
  }
  out.push('  </testsuite>', '</testsuites>')
  return out.join('\n') + '\n'
}
