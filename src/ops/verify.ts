/** Verify the repo's claims against observations from its files (working tree or index) and, when needed, the store. */
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {hasCache, openCache} from '../claims/cache.js'
import {applyBaseline, BASELINE_FILE, baselineOf, baselineText, loadBaseline, writeBaseline, type Baseline} from '../claims/baseline.js'
import {extractAll, prefetchParsers, type Skipped, type Stopped} from '../claims/extract.js'
import type {Claim, ClaimsFile} from '../claims/file.js'
import {defaultClaimsPath, loadClaims, repoRoot} from '../claims/load.js'
import {key, type Observation} from '../claims/observation.js'
import {testPatterns, type PatternCache} from '../claims/pattern-tests.js'
import {openRepo} from '../claims/repo.js'
import {decide, indexObservations, unclaimed, type StoreAnswer, type Unchecked, type Verdict} from '../claims/verdict.js'
import type {Deps} from './deps.js'
import {commitHook, mergeHookGap} from './hook.js'
import type {VerifyReport, VerifyRequest} from './verify-request.js'

export type StoreDeps = Pick<Deps, 'store' | 'config'> & {
  /** Judge the claims on a `steme serve` daemon (POST /v1/verify) instead of reading the store here (verify --remote). */
  verify?: (req: VerifyRequest) => Promise<VerifyReport>
  /** The store's own agent key (self in lenses) where there is no signing key to take it from: the daemon. */
  self?: string
}

export interface VerifyDeps {
  /** Open the store; called only when some claim needs store observations. Undefined when there is none. */
  openStore?: (root: string) => Promise<StoreDeps | undefined>
  now?: () => number
}

/**
 * A store opener for verify-like commands: finds the repo's store without opening it, and opens it at
 * most once, on first need. Undefined when there is no store (no .steme database, no --store).
 */
export function lazyStore<T extends StoreDeps>(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  open: (root: string) => Promise<T>,
): (root: string) => Promise<T | undefined> {
  let opened: Promise<T | undefined> | undefined
  const find = async (root: string): Promise<T | undefined> => {
    const {locateStore, noStoreAt} = await import('../config.js')
    let url: string
    try {
      url = locateStore(flag, env, root).url
    } catch (e) {
      // No store found upward is a repo without one; a store named and not openable is a mistake to say.
      if (flag ?? env.STEME_STORE) throw e
      return undefined
    }
    if (!url.includes(':') && !existsSync(url)) {
      // A store named (--store, STEME_STORE) and not there is a mistake to say, not a repo without a
      // store: a mistyped --store had claims judged "no observation (no store to consult)".
      if (flag ?? env.STEME_STORE) throw noStoreAt(url)
      return undefined
    }
    return open(root)
  }
  return (root) => (opened ??= find(root))
}

export interface VerifyInput {
  cwd: string
  /** The claims file (default `.steme/claims.toml` at the repo root). */
  claims?: string
  /** Read the git index instead of the working tree. */
  staged?: boolean
  /** A baseline file; default `.steme/claims-baseline.json` when it exists. With `staged`, read from the index when it is there. */
  baseline?: string
  /** Write the current failures to the baseline file instead of failing on them. */
  updateBaseline?: boolean
  /** Warn claims fail the run too. */
  failOnWarn?: boolean
  /** Reuse extraction results of unchanged files (--staged only; default on). */
  cache?: boolean
}

export interface VerifySummary {
  claims: number
  pass: number
  conflict: number
  missing: number
  /** Claims that could not be checked (a regex bearing on them was stopped). */
  unchecked: number
  /** Failures that make the run fail (exit 1). */
  failing: number
  /** Failures accepted by the baseline. */
  known: number
}

export interface VerifyResult {
  root: string
  claimsFile: string
  claimsFrom: 'worktree' | 'index'
  staged: boolean
  verdicts: Verdict[]
  unclaimed: Observation[]
  warnings: string[]
  skipped: Skipped[]
  baseline?: {
    path: string
    fixed: string[]
    updated: boolean
    /** Where it was read (written, when updated): the working tree, or the git index with --staged when the index holds it. */
    from: 'worktree' | 'index'
    /** --update-baseline --staged: whether the index already holds what was written (if not, the commit holds it once `git add`ed). */
    staged?: boolean
  }
  /** Files whose extraction came from the cache (hits) or was done afresh (misses), with --staged. */
  cache?: {hits: number; misses: number}
  /** Whether the store was consulted: not needed, consulted, or needed but absent. */
  store: 'unused' | 'used' | 'absent'
  summary: VerifySummary
  ok: boolean
  /** Every observation (for --record and coverage; not part of the JSON report). */
  observations?: Observation[]
}

export async function verifyOp(deps: VerifyDeps, input: VerifyInput): Promise<VerifyResult> {
  const root = repoRoot(input.cwd)
  const staged = !!input.staged
  const repo = openRepo(root, {staged})
  const listing = repo.list()
  const useCache = staged && input.cache !== false
  if (!useCache || !hasCache(repo)) prefetchParsers(input.claims ?? defaultClaimsPath(root))
  // Asked alongside the work below: one git process, whose answer is wanted only at the end.
  const mergeGap = mergeHookGap(root).catch(() => undefined)
  const files = await listing
  // Lenses are checked inside loading, so a claims file naming an unknown lens leaves no cache entry behind.
  const {claims: cf, from, warning: claimsWarning} = await loadClaims(root, input.claims, repo, files, {cache: useCache, checkLenses: true, hook: () => commitHook(root)})
  const cache = useCache ? openCache(repo, cf) : undefined
  const extraction = await extractAll(repo, cf, files, cache)
  // Saved after judging, which tests `matches` patterns through the cache; saved even if judging fails, as extraction is done.
  const {verdicts, store} = await judge(deps, root, cf, extraction.observations, extraction.stopped, cache?.patterns).finally(() => cache?.save())

  let baseline: VerifyResult['baseline']
  let accepted: Baseline | undefined
  const warnings = [...(claimsWarning ? [claimsWarning] : []), ...extraction.warnings]
  const baselinePath = input.baseline ?? join(root, '.steme', BASELINE_FILE)
  const load = () => loadBaseline(root, baselinePath, {optional: input.baseline === undefined, repo, files})
  if (input.updateBaseline) {
    // What was accepted before is wanted for the claims that could not be checked now, and, with
    // --staged, to tell whether the index already holds what is written. It may be broken: replacing it is what was asked for.
    const previous = staged || verdicts.some((v) => v.status === 'UNCHECKED') ? (await load().catch(() => undefined))?.loaded : undefined
    accepted = baselineOf(verdicts, previous?.baseline)
    writeBaseline(baselinePath, accepted)
    baseline = {path: baselinePath, fixed: [], updated: true, from: 'worktree', ...(staged ? {staged: previous?.from === 'index' && previous.text === baselineText(accepted)} : {})}
  } else {
    const {loaded, warning} = await load()
    if (warning) warnings.push(warning)
    if (loaded) {
      accepted = loaded.baseline
      baseline = {path: baselinePath, fixed: [], updated: false, from: loaded.from}
    }
  }
  // A baseline just written makes each failure it accepted a known one.
  const {summary, fixed} = settle(verdicts, {failOnWarn: input.failOnWarn, baseline: accepted})
  if (baseline) baseline.fixed = fixed
  // After settle(), which decides which claims fail (severity, baseline).
  const storeless = store === 'absent' ? noStoreWarning(cf, verdicts) : undefined
  if (storeless) warnings.push(storeless)
  const gap = await mergeGap
  if (gap) warnings.push(gap)
  return {
    root,
    claimsFile: cf.path,
    claimsFrom: from,
    staged,
    verdicts,
    unclaimed: unclaimed(cf.claims, extraction.observations),
    warnings,
    skipped: extraction.skipped,
    baseline,
    ...(cache ? {cache: {hits: cache.hits, misses: cache.misses}} : {}),
    store,
    summary,
    ok: summary.failing === 0,
    observations: extraction.observations,
  }
}

// The subjects the built-in extractors observe (docs/claims.md, Built-in extractors).
const BUILTIN_SUBJECT = /^repo:(?:(?:package|tsconfig|node|docker)(?::|$)|env$)/

/**
 * Claims left MISSING only because no store was there to ask: a fresh clone or CI has none, since the
 * store's database is not kept in git. "no observation" alone leaves a new teammate refused with no
 * idea what would answer the claim, so this says what is missing and how to get it.
 */
function noStoreWarning(cf: ClaimsFile, verdicts: readonly Verdict[]): string | undefined {
  // A claim some extractor could answer (a Dockerfile claim, a regex's subject) wants a file, not a
  // store: naming the store there would send the reader the wrong way.
  const fromFiles = (c: Claim) =>
    cf.extracts.some((x) => x.subject === c.subject && x.predicate === c.predicate) || (cf.settings.builtins && BUILTIN_SUBJECT.test(c.subject))
  const fromStore = new Set(cf.claims.filter((c) => c.from === 'store' || (c.from === 'any' && !fromFiles(c))).map((c) => c.id))
  const ids = verdicts.filter((v) => v.status === 'MISSING' && v.fails && v.source === 'none' && fromStore.has(v.id)).map((v) => v.id)
  if (!ids.length) return undefined
  const named = ids.slice(0, 5).join(', ') + (ids.length > 5 ? `, and ${ids.length - 5} more` : '')
  return `${ids.length === 1 ? 'claim' : `${ids.length} claims`} ${named}: only the steme store can answer ${ids.length === 1 ? 'it' : 'them'}, and this repo has none (its database is not kept in git, so a fresh clone or CI has none): run \`steme init\` at the repo root, then \`steme pull <remote>\` to fetch your team's assertions, or point --store (STEME_STORE, for the hook) at a store you have, such as another worktree's`
}

/**
 * The verify engine proper, shared by `steme verify` and POST /v1/verify: the claims and the file
 * observations in, one verdict per claim out. The store is opened only when some claim needs it;
 * a store that is a daemon judges the whole run there (one request instead of one per claim).
 * `stopped` lists the extractors stopped in this run: the claims they feed are UNCHECKED.
 * `patterns` keeps pattern test outcomes across runs (verify --staged; a request has none).
 */
export async function judge(deps: VerifyDeps, root: string, cf: ClaimsFile, observations: Observation[], stopped: readonly Stopped[] = [], patterns?: PatternCache): Promise<{verdicts: Verdict[]; store: VerifyResult['store']}> {
  const byKey = indexObservations(observations)
  const blocked = blockedClaims(cf.claims, stopped)
  // "absent" with from = any is satisfied by files that say nothing, so it never costs a store lookup;
  // nor does a claim a stopped extractor feeds: its file observations, which come first, are unknown.
  const needStore = cf.claims.filter((c) => !blocked.has(c.id) && (c.from === 'store' || (c.from === 'any' && c.compare !== 'absent' && !byKey.has(key(c.subject, c.predicate)))))
  let store: VerifyResult['store'] = 'unused'
  let answers = new Map<string, StoreAnswer>()
  if (needStore.length) {
    const sd = deps.openStore ? await deps.openStore(root) : undefined
    if (sd?.verify) {
      const r = await sd.verify({claims: cf.text, name: cf.path, observations})
      // The daemon knows nothing of the stopped extractors: the claims they feed are decided here.
      const here = new Map((await decideAll(cf, cf.claims.filter((c) => blocked.has(c.id)), byKey, answers, blocked, patterns)).map((v) => [v.id, v]))
      return {verdicts: r.verdicts.map((v) => here.get(v.id) ?? v), store: r.store}
    }
    store = sd ? 'used' : 'absent'
    answers = sd ? await askStore(sd, needStore, deps.now?.()) : new Map(needStore.map((c) => [c.id, {note: 'no store to consult'}]))
  }
  return {verdicts: await decideAll(cf, cf.claims, byKey, answers, blocked, patterns), store}
}

/** A verdict per claim: on its file observations, else on the store's answer; `matches` patterns run under the time budget. */
async function decideAll(cf: ClaimsFile, claims: readonly Claim[], byKey: Map<string, Observation[]>, answers: Map<string, StoreAnswer>, blocked: Map<string, Unchecked>, cache?: PatternCache): Promise<Verdict[]> {
  const cases = claims.map((claim) => {
    const files = claim.from === 'store' ? [] : (byKey.get(key(claim.subject, claim.predicate)) ?? [])
    const ans = answers.get(claim.id)
    const observed = files.length ? files : ans?.observation ? [ans.observation] : []
    return {claim, observed, source: files.length ? 'files' : ans?.observation ? 'store' : 'none', ans} as const
  })
  const tests = await testPatterns(cases, cf.settings.regexTimeoutMs, {cache})
  return cases.map(({claim, observed, source, ans}) => decide(claim, observed, source, {store: ans, stopped: blocked.get(claim.id), tests: tests.get(claim.id)}))
}

/** The claims fed by a stopped extractor (all but from = "store" ones, which read no file), by id, with why. */
function blockedClaims(claims: readonly Claim[], stopped: readonly Stopped[]): Map<string, Unchecked> {
  const byKey = new Map<string, Unchecked>()
  for (const s of stopped) if (!byKey.has(key(s.subject, s.predicate))) byKey.set(key(s.subject, s.predicate), s.why)
  const out = new Map<string, Unchecked>()
  for (const c of claims) {
    const why = c.from === 'store' ? undefined : byKey.get(key(c.subject, c.predicate))
    if (why) out.set(c.id, why)
  }
  return out
}

/** Which failures fail the run (severity, --fail-on-warn, a baseline), and the counts; returns the baselined ids that pass now. */
export function settle(verdicts: Verdict[], opts: {failOnWarn?: boolean; baseline?: Baseline}): {summary: VerifySummary; fixed: string[]} {
  for (const v of verdicts) delete v.baseline
  const fixed = opts.baseline ? applyBaseline(verdicts, opts.baseline) : []
  for (const v of verdicts) {
    v.fails = v.status !== 'PASS' && (v.severity === 'error' || !!opts.failOnWarn) && v.baseline !== 'known'
  }
  const summary: VerifySummary = {
    claims: verdicts.length,
    pass: verdicts.filter((v) => v.status === 'PASS').length,
    conflict: verdicts.filter((v) => v.status === 'CONFLICT').length,
    missing: verdicts.filter((v) => v.status === 'MISSING').length,
    unchecked: verdicts.filter((v) => v.status === 'UNCHECKED').length,
    failing: verdicts.filter((v) => v.fails).length,
    known: verdicts.filter((v) => v.baseline === 'known').length,
  }
  return {summary, fixed}
}

/** Resolve each claim's (subject, predicate) in the store through the claim's lens (default recency). */
async function askStore(sd: StoreDeps, claims: readonly Claim[], now?: number): Promise<Map<string, StoreAnswer>> {
  const {queryOp} = await import('./query.js')
  const out = new Map<string, StoreAnswer>()
  for (const c of claims) {
    const lens = c.lens ?? 'recency'
    const input = {subject: c.subject, predicate: c.predicate, lens, now}
    const res = await queryOp(sd, input)
    const r = res.resolutions.find((x) => x.predicate === c.predicate)
    if (!r || r.candidates.length === 0) out.set(c.id, {note: 'nothing in the store either'})
    else if (!r.winner) out.set(c.id, {contested: r.candidates.map((x) => x.value)})
    else out.set(c.id, {observation: {subject: c.subject, predicate: c.predicate, value: r.winner.value, via: 'store', lens, ids: r.winner.ids}})
  }
  return out
}
