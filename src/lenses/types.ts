/** What a lens sees and returns (DESIGN.md §3): candidates plus context in, a resolution out. */
import type {Assertion, Epoch, Json, Retract, Vote} from '../core/record.js'

export interface LensContext {
  /** Wall time of the query in ms (lenses never read the clock). */
  now: number
  /** --as-of bound (an hlc), when time-travelling. */
  asOf?: string
  /** --valid-at date (ISO-8601), when asking what held in the world then. */
  validAt?: string
  /** Votes on the candidates (every vote record; lenses take the latest per agent and target). */
  votes: Vote[]
  /** Retraction records in scope, and the ids they make retracted with the reason chain. */
  retractions: Retract[]
  retracted: Map<string, string>
  epochs: Epoch[]
  /** Trust score per agent in [0, 1]. */
  trust: Map<string, number>
  /** The store's own agent key. */
  self?: string
  /** Lens parameters from config (thresholds, authority rankings). */
  params: Record<string, unknown>
}

export interface RankedValue {
  /** The value, and its canonical JSON text (the key that groups equal values). */
  value: Json
  key: string
  /** Lens-specific score, and the normalised share of all scores in [0, 1]. */
  score: number
  probability: number
  /** Ids of the assertions that carry this value, in (hlc, id) order. */
  ids: string[]
  agents: number
}

export interface Resolution {
  lens: string
  subject: string
  predicate: string
  /** The winning value, or undefined when there are no candidates or the lens declines (contested). */
  winner?: RankedValue
  /** Every candidate value, best first. */
  candidates: RankedValue[]
  /** 0 when every candidate agrees, towards 1 as support splits evenly. */
  conflict: number
  /** Sentences a person can read: why the winner won. */
  explanation: string[]
}

export type Lens = (candidates: readonly Assertion[], ctx: LensContext) => Resolution
