/** An observation: a value seen for (subject, predicate), and where it was seen. */
import type {Json} from '../core/record.js'

export interface Observation {
  subject: string
  predicate: string
  value: Json
  /** Repo-relative file and 1-based line, for file observations. */
  file?: string
  line?: number
  /** Which extractor saw it (`builtin:package.json`, `extract#2`), or `store` for a lens resolution. */
  via: string
  /** For store observations: the lens and the ids of the assertions carrying the winning value. */
  lens?: string
  ids?: string[]
  /** Further files, for counts summed over several files. */
  files?: string[]
}

/** `file:line`, `file`, or the lens for store observations. */
export function where(o: Observation): string {
  if (o.file) return o.line ? `${o.file}:${o.line}` : o.file
  if (o.via === 'store') return `store (lens ${o.lens ?? 'recency'})`
  return o.via
}

export const key = (subject: string, predicate: string) => `${subject}\u0000${predicate}`
