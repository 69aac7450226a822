/** What a lens sees and returns (DESIGN.md §3): candidates plus context in, a resolution out. */
import type {Assertion, Epoch, Json, Vote} from '../core/record.js'

/** Why a record counts as retracted; `evidence` points up the chain to the retracted ids it stood on. */
export type RetractionWhy =
  | {by: 'target'; retraction: string; agent: string; reason?: string}
  | {by: 'source'; retraction: string; agent: string; source: string; reason?: string}
  | {by: 'evidence'; evidence: string[]}

/** What the truth-discovery pass learned about one witness (a source, or an agent without one). */
export interface WitnessQuality {
  /** P(the witness lists an element | it is true): how complete it is. */
  sensitivity: number
  /** The same on its partial claims (a strict subset of another witness's claim): how often it truncates. */
  partialSensitivity?: number
  /** Witnesses it probably copies or is copied by (copy detection), with that probability. */
  copies?: Readonly<Record<string, number>>
  /** P(the witness lists an element | it is false): how often it is wrong. */
  falsePositive: number
  /** Claims the estimate rests on. */
  claims: number
}

export interface LensContext {
  /** Wall time of the query in ms (lenses never read the clock). */
  now: number
  /** --as-of bound (an hlc), when time-travelling. */
  asOf?: string
  /** --valid-at date (ISO-8601), when asking what held in the world then. */
  validAt?: string
  /** Honoured votes in scope (every vote record; lenses take the latest per agent and target). */
  votes: readonly Vote[]
  /** Ids retracted under the local policy (cascade included), with why. */
  retracted: ReadonlyMap<string, RetractionWhy>
  /** Ids superseded by an honoured, unretracted assertion: id -> the superseding id. */
  superseded: ReadonlyMap<string, string>
  /**
   * Without a date: the superseded ids whose every superseder carries a `valid` range, with those
   * superseders. `--valid-at` a date supersedes such an id only where one of them holds, so the
   * conflict score without a date (registry.ts overTime) works each date out so. Absent when none.
   */
  supersededWhile?: ReadonlyMap<string, readonly Assertion[]>
  /** Epochs honoured by the local policy (declared by agents trusted here). */
  epochs: readonly Epoch[]
  /** Epochs set aside because their author is not trusted here, so explanations can say so. */
  ignoredEpochs?: readonly Epoch[]
  /** Trust score per agent in [0, 1] (EigenTrust, relative to the pre-trusted set). */
  trust: ReadonlyMap<string, number>
  /** Learned witness quality, per witness key (see witnessOf), when the query computed it. */
  reliability?: ReadonlyMap<string, WitnessQuality>
  /**
   * Without a date, where candidates carry `valid` ranges: the highest conflict score this lens
   * step gives at any one instant, as `--valid-at` would (registry.ts resolve supplies it, lazily).
   * A lens that acts on its conflict score (skeptic) asks for it; absent, the score over time stands.
   */
  conflictOverTime?: () => number
  /** The store's own agent key. */
  self?: string
  /** Lens parameters from config and the expression, per lens name. */
  params: Readonly<Record<string, Readonly<Record<string, unknown>>>>
}

export interface RankedValue {
  /** The value, and its canonical JSON text (the key that groups equal values). */
  value: Json
  key: string
  /** Lens-specific score (higher is better), and a probability in [0, 1] (the lens's share of belief). */
  score: number
  probability: number
  /** Ids of the assertions that carry this value, in (hlc, id) order. */
  ids: string[]
  /** Distinct agents and witnesses (sources, or agents citing none) behind it: those whose latest word it is. */
  agents: number
  witnesses: number
}

/**
 * decided: a winner; tie: the top scores are equal and the winner is the smallest id;
 * contested: the lens declines (skeptic); abstain: the lens has nothing to go on (no trust,
 * no authority order, no epochs); empty: no candidates.
 */
export type Status = 'decided' | 'tie' | 'contested' | 'abstain' | 'empty'

export interface Resolution {
  /** The lens or expression that produced it, and the lens in a fallback chain that decided. */
  lens: string
  decidedBy?: string
  subject: string
  predicate: string
  status: Status
  /** The winning value, or undefined when there are no candidates or the lens declines. */
  winner?: RankedValue
  /** Every candidate value, best first. */
  candidates: RankedValue[]
  /** 0 when every candidate agrees, 1 for an even split (see values.ts conflictOf). */
  conflict: number
  /**
   * Without a date, where the live candidates' valid ranges (with the epoch starts and superseders'
   * ranges that count) cut time into more stretches than are worked out one by one (STRETCHES_MAX):
   * how many. `conflict` is then the lens's own score over all dates, which can be lower than some
   * date's. Absent otherwise (and for one value alone, unless supersession or epochs may give a date two).
   */
  cappedStretches?: number
  /**
   * Without a date, where the score is one stretch of time's (see cappedStretches): a date in it, as
   * `--valid-at` takes it, that gives the score. Its values can differ from `candidates` (the answer
   * over all dates): one superseded from a later date on counts there. Absent otherwise.
   */
  conflictAt?: string
  /** Sentences a person can read: why the winner won. */
  explanation: string[]
}

/** A lens: pure, deterministic; ties broken by id. Candidates arrive already filtered (lifecycle, filters). */
export type Lens = (candidates: readonly Assertion[], ctx: LensContext, params: Readonly<Record<string, unknown>>) => Resolution
