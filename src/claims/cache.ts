/**
 * The extraction cache: per-file results of the extractors, keyed by path and git blob id, kept in the
 * git directory (never in the work tree, so it is never committed nor scanned). Valid only for the
 * same extractor configuration and steme version; anything else starts it afresh. It keeps the
 * outcomes of `matches` patterns tested on the scanner too (see PatternCache), so that a warm run
 * starts no thread for them either.
 */
import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import type {ExtractCache, FileResult} from './extract.js'
import type {ClaimsFile} from './file.js'
import type {PatternCache} from './pattern-tests.js'
import type {RepoFiles} from './repo.js'
import {replaceFileSync} from '../output-file.js'

/** Bump when extraction output changes shape or meaning. */
const CACHE_VERSION = 4

interface CacheDoc {
  fingerprint: string
  entries: Record<string, FileResult>
  /** Pattern test outcomes by testKey (absent in caches written before they were kept). */
  patterns?: Record<string, boolean>
}

function stemeVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version?: string}).version ?? '?'
  } catch {
    return '?'
  }
}

/** What the cached results depend on besides a file's path and content. */
export function fingerprint(cf: ClaimsFile): string {
  return JSON.stringify([
    CACHE_VERSION,
    stemeVersion(),
    cf.settings,
    cf.extracts.map((x) => [x.index, x.files, x.kind, x.expr, x.regex?.flags ?? '', x.count, x.subject, x.predicate]),
  ])
}

export interface FileCache extends ExtractCache {
  /** Outcomes of `matches` pattern tests, kept and dropped as the file entries are. */
  patterns: PatternCache
  /** Write the entries used or added in this run (dropping the rest), when anything changed. */
  save(): void
  hits: number
  misses: number
}

const cachePath = (gitDir: string) => join(gitDir, 'steme', 'verify-cache.json')

/** Is there a cache to warm this run (so the YAML parser likely need not load)? */
export function hasCache(repo: RepoFiles): boolean {
  const gitDir = repo.gitDir()
  return !!gitDir && existsSync(cachePath(gitDir))
}

/** Open the cache for a repo whose file contents have blob ids (--staged); undefined otherwise. */
export function openCache(repo: RepoFiles, cf: ClaimsFile): FileCache | undefined {
  const gitDir = repo.gitDir()
  if (!gitDir || !repo.staged) return undefined
  const path = cachePath(gitDir)
  const dir = dirname(path)
  const fp = fingerprint(cf)
  let old: Record<string, FileResult> = {}
  let oldPatterns: Record<string, boolean> = {}
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as CacheDoc
    if (doc.fingerprint === fp && doc.entries && typeof doc.entries === 'object') {
      old = doc.entries
      if (doc.patterns && typeof doc.patterns === 'object') oldPatterns = doc.patterns
    }
  } catch {
    // No cache yet, or unreadable: start afresh.
  }
  const used: Record<string, FileResult> = {}
  const usedPatterns: Record<string, boolean> = {}
  const k = (p: string) => {
    const id = repo.blobId(p)
    return id ? `${id} ${p}` : undefined
  }
  let changed = false
  const cache: FileCache = {
    hits: 0,
    misses: 0,
    get(p) {
      const key = k(p)
      const r = key ? old[key] : undefined
      if (r) {
        used[key!] = r
        cache.hits++
      } else cache.misses++
      return r
    },
    set(p, r) {
      const key = k(p)
      if (!key) return
      used[key] = r
      changed = true
    },
    patterns: {
      get(key) {
        const matched = oldPatterns[key]
        if (typeof matched !== 'boolean') return undefined
        usedPatterns[key] = matched
        return matched
      },
      set(key, matched) {
        usedPatterns[key] = matched
        changed = true
      },
    },
    save() {
      const dropped = Object.keys(used).length !== Object.keys(old).length || Object.keys(usedPatterns).length !== Object.keys(oldPatterns).length
      if (!changed && !dropped) return
      try {
        mkdirSync(dir, {recursive: true})
        replaceFileSync(path, JSON.stringify({fingerprint: fp, entries: used, patterns: usedPatterns} satisfies CacheDoc))
      } catch {
        // A cache that cannot be written only costs speed next time.
      }
    },
  }
  return cache
}
