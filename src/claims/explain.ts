/** The claims as a markdown page grouped by subject: what must stay true, why, its status now, and who wrote it. */
import {readFileSync} from 'node:fs'
import {isAbsolute, join} from 'node:path'
import type {VerifyResult} from '../ops/verify.js'
import {baselineName} from './baseline.js'
import {showValue} from './compare.js'
import {where} from './observation.js'
import {git} from './repo.js'
import type {Verdict} from './verdict.js'

export interface Authorship {
  commit: string
  author: string
  date: string
  summary: string
  /** The commit is where a shallow clone's history stops: the line may be older, by anyone. */
  shallow?: boolean
}

/** Who last touched each line of a file (git blame), or an empty map outside git or for untracked files. */
export function blame(root: string, file: string): Map<number, Authorship> {
  const out = new Map<number, Authorship>()
  let text: string
  try {
    text = git(root, ['blame', '--line-porcelain', '--', file])
  } catch {
    return out
  }
  let cur: Partial<Authorship> & {line?: number} = {}
  for (const l of text.split('\n')) {
    const head = /^([0-9a-f]{40}) \d+ (\d+)/.exec(l)
    if (head) cur = {commit: head[1], line: Number(head[2])}
    else if (l.startsWith('author ')) cur.author = l.slice(7)
    else if (l.startsWith('author-time ')) cur.date = new Date(Number(l.slice(12)) * 1000).toISOString().slice(0, 10)
    else if (l.startsWith('summary ')) cur.summary = l.slice(8)
    else if (l.startsWith('\t') && cur.line) out.set(cur.line, cur as Authorship)
  }
  // In a shallow clone (CI checkouts usually are), blame puts every older line on the commit the
  // history is cut at: naming its author would credit the wrong person.
  const cut = shallowCommits(root)
  if (cut.size) for (const a of out.values()) if (cut.has(a.commit)) a.shallow = true
  return out
}

/** The commits a shallow clone's history stops at (empty for a full clone). */
function shallowCommits(root: string): Set<string> {
  try {
    const path = git(root, ['rev-parse', '--git-path', 'shallow']).trim()
    return new Set(readFileSync(isAbsolute(path) ? path : join(root, path), 'utf8').split('\n').filter((l) => /^[0-9a-f]{40,64}$/.test(l)))
  } catch {
    return new Set()
  }
}

const code = (s: string) => '`' + s.replaceAll('`', "'") + '`'

function rule(v: Verdict): string {
  const e = showValue(v.expect)
  const op = {eq: `= ${e}`, gte: `>= ${e}`, lte: `<= ${e}`, in: `is one of ${e}`, matches: `matches /${String(v.expect)}/`, present: 'is present', absent: 'is absent'}[v.compare]
  return `${code(v.predicate)} ${op}`
}

/** The header's word on the baseline: how many failures it accepts, so a CONFLICT below is not read as a failing verify. */
function accepted(res: VerifyResult): string {
  if (!res.baseline) return ''
  const n = res.summary.known
  const name = code(baselineName(res.root, res.baseline.path))
  return ` The baseline ${name} accepts ${n === 0 ? 'none of the failures' : n === 1 ? '1 failure' : `${n} failures`} (\`steme verify\` does not fail on ${n === 1 ? 'it' : 'them'}).`
}

export function renderExplain(res: VerifyResult, authors: Map<number, Authorship>): string {
  const bySubject = new Map<string, Verdict[]>()
  for (const v of res.verdicts) {
    let list = bySubject.get(v.subject)
    if (!list) bySubject.set(v.subject, (list = []))
    list.push(v)
  }
  const s = res.summary
  const out = [
    '# What must stay true',
    '',
    `The claims in ${code(res.claimsFile)}, checked by \`steme verify\` (and the pre-commit hook). Status as of this rendering: ${s.pass} of ${s.claims} pass.${accepted(res)}`,
    '',
  ]
  const baseline = res.baseline && code(baselineName(res.root, res.baseline.path))
  for (const subject of [...bySubject.keys()].sort()) {
    out.push(`## ${subject}`, '')
    for (const v of bySubject.get(subject)!) {
      out.push(`### ${v.id}`, '')
      out.push(`- **Claim:** ${rule(v)} (${v.severity === 'error' ? 'error: blocks commits' : 'warning'})`)
      if (v.why) out.push(`- **Why:** ${v.why}`)
      const st = v.status === 'PASS' ? 'PASS' : `**${v.status}**`
      const seen = v.unchecked ? `could not be checked: ${v.unchecked.detail}` : v.failures.length ? `${showValue(v.failures[0].value)} at ${v.failures[0].where}` : v.observed.length ? `${showValue(v.observed[0].value)} at ${where(v.observed[0])}` : 'nothing observed'
      out.push(`- **Status:** ${st}: ${seen.replaceAll('|', '\\|')}`)
      if (v.baseline === 'known') out.push(`- **Baseline:** this failure is accepted in ${baseline}: \`steme verify\` and the hook do not fail on it`)
      else if (res.baseline?.fixed.includes(v.id)) out.push(`- **Baseline:** listed in ${baseline}, and passes now: \`steme verify --update-baseline\` drops it`)
      const a = authors.get(v.line)
      const by = !a
        ? ''
        : /^0+$/.test(a.commit)
          ? ', not committed yet'
          : a.shallow
            ? `, written in ${a.commit.slice(0, 10)} (“${a.summary}”) or before it: this clone's history stops there (\`git fetch --unshallow\` for the rest)`
            : `, written by ${a.author} on ${a.date} in ${a.commit.slice(0, 10)} (“${a.summary}”)`
      out.push(`- **Defined in:** ${code(`${res.claimsFile}:${v.line}`)}${by}`)
      out.push('')
    }
  }
  return out.join('\n')
}
