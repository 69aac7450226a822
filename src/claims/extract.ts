/** Run the extractors (declarative `[[extract]]` entries and built-ins) over the repo's files. */
import {readFileSync} from 'node:fs'
import {isAbsolute, sep} from 'node:path'
import picomatch from 'picomatch'
import type {Json} from '../core/record.js'
import {field} from '../core/text.js'
import {BUILTINS, type Builtin} from './builtins.js'
import type {ClaimsFile, Extract} from './file.js'
import type {Observation} from './observation.js'
import {getPath, lineOfPath, stripJsonc} from './path.js'
import {couldBacktrack, scanSafely, startScanner, type ScanJob, type ScanOutcome, type Scanner} from './regex-scan.js'
import type {FileContent, RepoFiles, SkipReason} from './repo.js'
import {toJson} from './file.js'
import type {Unchecked} from './verdict.js'

export interface Skipped {
  path: string
  reason: SkipReason
  detail: string
}

/** A regex extractor stopped on some file: it observes nothing in this run, so the claims it feeds cannot be checked. */
export interface Stopped {
  subject: string
  predicate: string
  why: Unchecked
}

export interface Extraction {
  observations: Observation[]
  warnings: string[]
  stopped: Stopped[]
  skipped: Skipped[]
  /** Number of candidate files listed. */
  files: number
}

/**
 * The files matching one or more globs, in listing order. In a list, a glob written `!glob` takes
 * away what it matches from what the others match (`["**\/*", "!vendor/**"]`), as in .gitignore and
 * most tools; with no other glob, it takes it away from every file. `!(...)` is picomatch's extglob, a glob like any other.
 */
export function matchFiles(globs: readonly string[], files: readonly string[], fileSet: ReadonlySet<string>): string[] {
  const isExclusion = (g: string) => g.startsWith('!') && !g.startsWith('!(')
  const excluded = globs.filter(isExclusion).map((g) => g.slice(1))
  if (excluded.length === 0) return matchAny(globs, files, fileSet)
  const included = globs.filter((g) => !isExclusion(g))
  const kept = included.length ? matchAny(included, files, fileSet) : [...files]
  const drop = new Set(matchAny(excluded, kept, new Set(kept)))
  return kept.filter((f) => !drop.has(f))
}

/** The files matching any of the globs, in listing order; plain paths (most claims files) are looked up, not scanned. */
function matchAny(globs: readonly string[], files: readonly string[], fileSet: ReadonlySet<string>): string[] {
  const exact = new Set<string>()
  const patterns: ((p: string) => boolean)[] = []
  for (const g of globs) {
    if (!picomatch.scan(g).isGlob) {
      exact.add(g.replace(/^\.\//, ''))
      continue
    }
    // The compiled regex, not picomatch's matcher: that one re-normalises every path first and costs
    // ~10 us a call, which over 1,000 paths per glob is most of a warm hook run. Paths here are posix.
    const re = picomatch.makeRe(g, {dot: true})
    patterns.push((p) => p === g || re.test(p))
  }
  if (patterns.length === 0) return [...exact].filter((f) => fileSet.has(f))
  return files.filter((p) => exact.has(p) || patterns.some((m) => m(p)))
}

/** What the extractors saw in one file; the unit the cache keeps, keyed by path and blob id. */
export interface FileResult {
  skipped?: Skipped
  warnings: string[]
  /** Observations of the built-ins that want this file, in BUILTINS order. */
  builtin: Observation[]
  /** Per `[[extract]]` index: the observations, or for count = true the number of matches and the first one's line. */
  extract: Record<number, Observation[] | {n: number; line: number}>
}

/** A regex extractor's scan of one file, done after the other extractors (on the scanner's thread when it could run long). */
interface RegexWork {
  path: string
  x: Extract
  result: FileResult
  job: ScanJob
}

/** Run every extractor that wants this file over its content (undefined when it was skipped); regex scans are queued on `regexes`. */
function extractFile(path: string, content: FileContent | undefined, builtins: readonly Builtin[], extracts: readonly Extract[], regexes: RegexWork[]): FileResult {
  const r: FileResult = {warnings: [], builtin: [], extract: {}}
  if (content && 'skipped' in content) r.skipped = {path, reason: content.skipped, detail: content.detail}
  // A leading byte order mark (Visual Studio writes one; tsc and npm accept it) is no part of the
  // content: JSON.parse refuses it, and regexes anchored at ^ would miss the first line.
  const text = content && 'text' in content ? stripBom(content.text) : undefined
  for (const b of builtins) {
    if (!b.reads) r.builtin.push(...b.extract(path, ''))
    else if (text !== undefined) {
      try {
        r.builtin.push(...b.extract(path, text, (w) => r.warnings.push(w)))
      } catch (e) {
        r.warnings.push(`${field(path)}: could not be read as ${b.name} (${firstLine(e)}): skipped`)
      }
    }
  }
  if (text === undefined) return r
  const parsed = new Map<string, unknown>()
  for (const x of extracts) {
    const via = `extract#${x.index + 1}`
    if (x.kind === 'regex') {
      regexes.push({path, x, result: r, job: {source: x.regex!.source, flags: x.regex!.flags, count: x.count, text}})
      continue
    }
    if (!parsed.has(x.kind)) {
      try {
        parsed.set(x.kind, parseDoc(x.kind, text))
      } catch (e) {
        r.warnings.push(`${field(path)}: not valid ${x.kind.toUpperCase()} (${firstLine(e)}), so extract #${x.index + 1} saw nothing there`)
        parsed.set(x.kind, undefined)
      }
    }
    const doc = parsed.get(x.kind)
    const v = doc === undefined ? undefined : getPath(doc, x.path!)
    r.extract[x.index] = v === undefined ? [] : [{subject: x.subject, predicate: x.predicate, value: toJson(v), file: path, line: lineOfPath(text, x.path!), via}]
  }
  return r
}

/** A cache of per-file results across runs (the hook runs on every commit; most files did not change). */
export interface ExtractCache {
  get(path: string): FileResult | undefined
  set(path: string, r: FileResult): void
}

export async function extractAll(repo: RepoFiles, cf: ClaimsFile, files?: readonly string[], cache?: ExtractCache): Promise<Extraction> {
  files ??= await repo.list()
  const warnings: string[] = []
  const claimsRel = relativeClaims(repo.root, cf.path)

  const fileSet = new Set(files)
  fileSet.delete(claimsRel)
  const perExtract: string[][] = cf.extracts.map((x) => {
    const hit = matchFiles(x.files, files, fileSet).filter((f) => f !== claimsRel)
    if (hit.length === 0) warnings.push(`${field(cf.path)}:${x.line}: extract #${x.index + 1}: files ${x.files.map((f) => `"${field(f)}"`).join(', ')} matched no file${repo.staged ? ' in the index' : ''}`)
    return hit
  })
  // Which extractors want each file, in a stable order.
  const work = new Map<string, {builtins: Builtin[]; extracts: Extract[]}>()
  const slot = (f: string) => {
    let w = work.get(f)
    if (!w) work.set(f, (w = {builtins: [], extracts: []}))
    return w
  }
  if (cf.settings.builtins) for (const f of files) for (const b of BUILTINS) if (b.wants(f)) slot(f).builtins.push(b)
  perExtract.forEach((hit, i) => hit.forEach((f) => slot(f).extracts.push(cf.extracts[i])))

  const results = new Map<string, FileResult>()
  const toRead: string[] = []
  for (const [f, w] of work) {
    const hit = cache?.get(f)
    if (hit) results.set(f, hit)
    else if (w.extracts.length || w.builtins.some((b) => b.reads)) toRead.push(f)
    else results.set(f, extractFile(f, undefined, w.builtins, w.extracts, []))
  }
  /** Regex extractors that ran out of time or failed on some file, by index: they observe nothing in this run. */
  const stopped = new Map<number, Stopped>()
  if (toRead.length) {
    const kinds = new Set(toRead.flatMap((f) => work.get(f)!.extracts.map((x) => x.kind)))
    // Regexes that could run for long go to a worker thread under the time budget. A thread costs
    // ~30 ms of CPU to start, so the others (literal scans) run here; when needed, it starts now
    // and loads while the files are read.
    const slow = new Set(cf.extracts.filter((x) => x.kind === 'regex' && couldBacktrack(x.regex!.source)).map((x) => x.index))
    const scanner = toRead.some((f) => work.get(f)!.extracts.some((x) => slow.has(x.index))) ? startScanner(cf.settings.regexTimeoutMs) : undefined
    try {
      await loadParsers(kinds)
      const contents = await repo.read(toRead, cf.settings.maxFileBytes)
      const regexes: RegexWork[] = []
      const cacheable: [string, FileResult][] = []
      for (const c of contents) {
        const w = work.get(c.path)!
        const r = extractFile(c.path, c, w.builtins, w.extracts, regexes)
        results.set(c.path, r)
        if (!('skipped' in c) || c.skipped === 'binary' || c.skipped === 'too_large') cacheable.push([c.path, r])
      }
      const incomplete = await scanRegexes(regexes, slow, scanner, cf, stopped, warnings)
      // A file a regex did not finish on has no complete result to keep.
      for (const [f, r] of cacheable) if (!incomplete.has(r)) cache?.set(f, r)
    } finally {
      await scanner?.close()
    }
  }

  const observations: Observation[] = []
  const skipped: Skipped[] = []
  for (const [f, r] of results) {
    if (r.skipped) {
      skipped.push(r.skipped)
      if (r.skipped.reason === 'symlink' || r.skipped.reason === 'outside' || r.skipped.reason === 'too_large') warnings.push(`${field(f)} ${r.skipped.detail}: skipped`)
      // A file an [[extract]] asked for and could not read holds matches nobody saw: a count or a
      // list without them could pass `expect = 0` or `absent` on a file that breaks the claim.
      if (r.skipped.reason === 'too_large') for (const x of work.get(f)?.extracts ?? []) tooLarge(cf, x, f, r.skipped.detail, stopped, warnings)
    }
    warnings.push(...r.warnings)
  }
  for (const f of files) {
    const r = work.has(f) ? results.get(f) : undefined
    if (r) observations.push(...r.builtin)
  }
  cf.extracts.forEach((x, i) => {
    // Some of its matches are unknown: what it saw elsewhere could pass a claim that file breaks.
    if (stopped.has(x.index)) return
    let count = 0
    const countFiles: string[] = []
    let firstHit: {file: string; line: number} | undefined
    for (const f of perExtract[i]) {
      const e = results.get(f)?.extract[x.index]
      if (e === undefined) continue
      if (Array.isArray(e)) observations.push(...e)
      else if (e.n) {
        count += e.n
        countFiles.push(f)
        firstHit ??= {file: f, line: e.line}
      }
    }
    if (x.count) {
      const o: Observation = {subject: x.subject, predicate: x.predicate, value: count, via: `extract#${x.index + 1}`}
      if (firstHit) {
        o.file = firstHit.file
        o.line = firstHit.line
        o.files = countFiles
      }
      observations.push(o)
    }
  })
  return {observations, warnings, stopped: [...stopped.values()], skipped, files: files.length}
}

/**
 * Do the queued regex scans, the literal ones here and the others on the scanner's thread at the
 * same time, and fill in their results. A regex that ran out of time or failed on a file is
 * stopped (added to `stopped`, with a warning); returns the file results it left incomplete.
 */
async function scanRegexes(regexes: RegexWork[], slow: ReadonlySet<number>, scanner: Scanner | undefined, cf: ClaimsFile, stopped: Map<number, Stopped>, warnings: string[]): Promise<Set<FileResult>> {
  const outcomes: ScanOutcome[] = new Array(regexes.length)
  const away = regexes.flatMap((g, i) => (slow.has(g.x.index) ? [i] : []))
  const scanned = away.length
    ? scanner!.run(
        away.map((i) => regexes[i].job),
        (k) => regexes[away[k]].x.index,
      )
    : Promise.resolve([])
  regexes.forEach((g, i) => {
    if (!slow.has(g.x.index)) outcomes[i] = scanSafely(g.job)
  })
  for (const [k, o] of (await scanned).entries()) outcomes[away[k]] = o

  const incomplete = new Set<FileResult>()
  outcomes.forEach((o, i) => {
    const {path, x, result} = regexes[i]
    if ('hits' in o) {
      const via = `extract#${x.index + 1}`
      result.extract[x.index] = x.count ? {n: o.hits.n, line: o.hits.first} : o.hits.values.map(([value, line]) => ({subject: x.subject, predicate: x.predicate, value, file: path, line, via}))
      return
    }
    incomplete.add(result)
    if (stopped.has(x.index)) return
    stopped.set(x.index, {subject: x.subject, predicate: x.predicate, why: stopReason(cf, x, path, o)})
    const rest = outcomes.filter((p, j) => j > i && !('hits' in p) && regexes[j].x.index === x.index).length
    const what =
      'error' in o
        ? `failed on ${field(path)} (${o.error})`
        : `ran over its ${cf.settings.regexTimeoutMs} ms budget on ${field(path)} (settings.regex_timeout_ms) and was stopped${rest ? `, not run on ${rest} more file${rest > 1 ? 's' : ''}` : ''}`
    warnings.push(`${field(cf.path)}:${x.line}: extract #${x.index + 1}: regex ${what}; it observes nothing in this run`)
  })
  return incomplete
}

/** An extractor that wants a file over settings.max_file_bytes: stopped, as one that ran out of time is. */
function tooLarge(cf: ClaimsFile, x: Extract, file: string, detail: string, stopped: Map<number, Stopped>, warnings: string[]): void {
  if (stopped.has(x.index)) return
  const what = `extract #${x.index + 1} (${field(cf.path)}:${x.line})`
  const fix = 'raise settings.max_file_bytes, or leave the file out with a "!" glob in its files'
  stopped.set(x.index, {subject: x.subject, predicate: x.predicate, why: {by: `extract#${x.index + 1}`, file, cause: 'too_large', detail: `${what} could not read ${field(file)}, which ${detail}, so what it would observe is unknown; ${fix}`}})
  warnings.push(`${field(cf.path)}:${x.line}: extract #${x.index + 1}: its files include ${field(file)}, too large to read, so it observes nothing in this run: ${fix}`)
}

/** Why the claims a stopped extractor feeds are unchecked, and what would let them be checked. */
function stopReason(cf: ClaimsFile, x: Extract, file: string, o: {timedOut: true} | {error: string}): Unchecked {
  const what = `extract #${x.index + 1} (${field(cf.path)}:${x.line})`
  const unknown = 'so what it would observe is unknown'
  if ('error' in o) return {by: `extract#${x.index + 1}`, file, cause: 'error', detail: `${what} failed on ${field(file)} (${o.error}), ${unknown}; fix its regex`}
  return {
    by: `extract#${x.index + 1}`,
    file,
    cause: 'timeout',
    detail: `${what} ran over its ${cf.settings.regexTimeoutMs} ms budget on ${field(file)} and was stopped, ${unknown}; raise settings.regex_timeout_ms or make its regex cheaper`,
  }
}

function parseDoc(kind: Extract['kind'], text: string): unknown {
  if (kind === 'json') {
    try {
      return JSON.parse(text)
    } catch (e) {
      // Many JSON config files carry comments (tsconfig, VS Code); accept them before giving up.
      try {
        return JSON.parse(stripJsonc(text))
      } catch {
        throw e
      }
    }
  }
  const parse = kind === 'toml' ? tomlParser : yamlParser
  if (!parse) throw new Error(`${kind} parser not loaded`)
  return parse(text)
}

type Parse = (text: string) => unknown
// The YAML and TOML libraries load only when a file has to be parsed (cache misses), keeping the hook light.
let yamlParser: Parse | undefined
let tomlParser: Parse | undefined

/**
 * Start loading the YAML library (~30 ms) while git lists files, when the claims file at this path
 * looks like it has YAML extractors. Only a head start: extraction still loads what it needs.
 */
export function prefetchParsers(claimsPath: string): void {
  try {
    if (/^\s*yaml\s*=/m.test(readFileSync(claimsPath, 'utf8'))) void import('yaml').catch(() => undefined)
  } catch {
    // No claims file in the working tree: loading it reports that properly.
  }
}

async function loadParsers(kinds: ReadonlySet<string>): Promise<void> {
  if (kinds.has('yaml') && !yamlParser) {
    const {parse} = await import('yaml')
    yamlParser = (t) => parse(t)
  }
  if (kinds.has('toml') && !tomlParser) {
    const {parse} = await import('smol-toml')
    tomlParser = (t) => parse(t)
  }
}

/** The claims file as a repo-relative path (it is never an observation source), or '' when outside. */
function relativeClaims(root: string, claimsPath: string): string {
  if (!isAbsolute(claimsPath)) return claimsPath
  return claimsPath.startsWith(root + sep) ? claimsPath.slice(root.length + 1).replaceAll('\\', '/') : ''
}

const stripBom = (text: string) => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]
