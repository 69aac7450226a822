/** Run the extractors (declarative `[[extract]]` entries and built-ins) over the repo's files. */
import {readFileSync} from 'node:fs'
import {isAbsolute, sep} from 'node:path'
import picomatch from 'picomatch'
import {parse as parseToml} from 'smol-toml'
import type {Json} from '../core/record.js'
import {BUILTINS, type Builtin} from './builtins.js'
import type {ClaimsFile, Extract} from './file.js'
import type {Observation} from './observation.js'
import {getPath, lineAt, lineOfPath, stripJsonc} from './path.js'
import type {FileContent, RepoFiles, SkipReason} from './repo.js'
import {toJson} from './file.js'

export interface Skipped {
  path: string
  reason: SkipReason
  detail: string
}

export interface Extraction {
  observations: Observation[]
  warnings: string[]
  skipped: Skipped[]
  /** Number of candidate files listed. */
  files: number
}

/** A matcher for one or more globs; plain paths are looked up directly, which is most claims files. */
export function globMatcher(globs: readonly string[]): (path: string) => boolean {
  const exact = new Set<string>()
  const patterns: ((p: string) => boolean)[] = []
  for (const g of globs) {
    if (picomatch.scan(g).isGlob) patterns.push(picomatch(g, {dot: true}))
    else exact.add(g.replace(/^\.\//, ''))
  }
  return (p) => exact.has(p) || patterns.some((m) => m(p))
}

export async function extractAll(repo: RepoFiles, cf: ClaimsFile, files?: readonly string[]): Promise<Extraction> {
  files ??= await repo.list()
  await preloadYaml(cf)
  const warnings: string[] = []
  const skipped: Skipped[] = []
  const observations: Observation[] = []
  const claimsRel = relativeClaims(repo.root, cf.path)

  const perExtract: string[][] = cf.extracts.map((x) => {
    const m = globMatcher(x.files)
    const hit = files.filter((f) => f !== claimsRel && m(f))
    if (hit.length === 0) warnings.push(`${cf.path}:${x.line}: extract #${x.index + 1}: files ${x.files.map((f) => `"${f}"`).join(', ')} matched no file${repo.staged ? ' in the index' : ''}`)
    return hit
  })
  const builtinFiles: [Builtin, string][] = []
  if (cf.settings.builtins) for (const f of files) for (const b of BUILTINS) if (b.wants(f)) builtinFiles.push([b, f])

  const toRead = new Set<string>()
  for (const hit of perExtract) for (const f of hit) toRead.add(f)
  for (const [b, f] of builtinFiles) if (b.reads) toRead.add(f)
  const contents = new Map<string, FileContent>()
  if (toRead.size) for (const c of await repo.read([...toRead], cf.settings.maxFileBytes)) contents.set(c.path, c)
  for (const c of contents.values()) {
    if ('skipped' in c) {
      skipped.push({path: c.path, reason: c.skipped, detail: c.detail})
      if (c.skipped === 'symlink' || c.skipped === 'outside' || c.skipped === 'too_large') warnings.push(`${c.path} ${c.detail}: skipped`)
    }
  }
  const text = (f: string) => {
    const c = contents.get(f)
    return c && 'text' in c ? c.text : undefined
  }

  for (const [b, f] of builtinFiles) {
    if (!b.reads) {
      observations.push(...b.extract(f, ''))
      continue
    }
    const t = text(f)
    if (t === undefined) continue
    try {
      observations.push(...b.extract(f, t))
    } catch (e) {
      warnings.push(`${f}: could not be read as ${b.name} (${firstLine(e)}): skipped`)
    }
  }

  const parsed = new Map<string, unknown>()
  cf.extracts.forEach((x, i) => {
    let count = 0
    const countFiles: string[] = []
    let firstHit: {file: string; line: number} | undefined
    for (const f of perExtract[i]) {
      const t = text(f)
      if (t === undefined) continue
      if (x.kind === 'regex') {
        const re = new RegExp(x.regex!.source, x.regex!.flags)
        let n = 0
        for (let m = re.exec(t); m; m = re.exec(t)) {
          if (m[0] === '') re.lastIndex++
          n++
          const line = lineAt(t, m.index)
          firstHit ??= {file: f, line}
          if (!x.count && m[1] !== undefined) observations.push({subject: x.subject, predicate: x.predicate, value: m[1], file: f, line, via: `extract#${x.index + 1}`})
        }
        if (n) {
          count += n
          countFiles.push(f)
        }
        continue
      }
      const cacheKey = `${x.kind}\u0000${f}`
      let doc = parsed.get(cacheKey)
      if (!parsed.has(cacheKey)) {
        try {
          doc = parseDoc(x.kind, t)
        } catch (e) {
          warnings.push(`${f}: not valid ${x.kind.toUpperCase()} (${firstLine(e)}), so extract #${x.index + 1} saw nothing there`)
          doc = undefined
        }
        parsed.set(cacheKey, doc)
      }
      if (doc === undefined) continue
      const v = getPath(doc, x.path!)
      if (v === undefined) continue
      observations.push({subject: x.subject, predicate: x.predicate, value: toJson(v), file: f, line: lineOfPath(t, x.path!), via: `extract#${x.index + 1}`})
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
  return {observations, warnings, skipped, files: files.length}
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
  if (kind === 'toml') return parseToml(text)
  return yamlParse(text)
}

type YamlParse = (text: string) => unknown
let yamlParser: YamlParse | undefined
/** The YAML library loads only when a YAML extractor runs (preloadYaml), keeping the common verify light. */
function yamlParse(text: string): unknown {
  if (!yamlParser) throw new Error('YAML parser not loaded')
  return yamlParser(text) as Json
}

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

async function preloadYaml(cf: ClaimsFile): Promise<void> {
  if (!yamlParser && cf.extracts.some((x) => x.kind === 'yaml')) {
    const {parse} = await import('yaml')
    yamlParser = (t) => parse(t)
  }
}

/** The claims file as a repo-relative path (it is never an observation source), or '' when outside. */
function relativeClaims(root: string, claimsPath: string): string {
  if (!isAbsolute(claimsPath)) return claimsPath
  return claimsPath.startsWith(root + sep) ? claimsPath.slice(root.length + 1).replaceAll('\\', '/') : ''
}

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]
