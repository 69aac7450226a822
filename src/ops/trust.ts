/** Endorse an agent (steme trust <agent> <weight>) and list trust scores with why (steme trust list). */
import {UserError} from '../core/errors.js'
import {field, unitNumber} from '../core/text.js'
import {isHex} from '../core/hash.js'
import {hlcBound} from '../core/hlc.js'
import {inputName} from '../core/naming.js'
import type {TrustBody} from '../core/record.js'
import {seal} from '../core/seal.js'
import {RESTART, TIERS, type TrustScore} from '../lenses/trust-scores.js'
import {gatherPolicy, selfOf} from './context.js'
import type {Deps} from './deps.js'
import {sealOrExplain} from './sealing.js'

/** Parse a weight typed by a user: a decimal number in [0, 1] (not 0x1: Number() reads it as 1), else a usage error naming it. */
export function parseWeight(text: string): number {
  const w = unitNumber(text)
  if (w !== undefined) return w
  const what = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(text) ? 'is out of range' : 'is not a decimal number'
  throw new UserError(`trust weight "${field(text)}" ${what}`, {hint: 'a weight is a decimal number in [0, 1], such as 0.8: 1 full endorsement, 0 withdraws it'})
}

const DROPS_NAMED = 5

const RANK: Record<string, number> = {newcomer: 0, established: 1, trusted: 2, authority: 3}

/** Whose retractions of others' records and epochs count in the viewer's queries: tier trusted and above. */
const COUNTS = RANK.trusted

/** Five named at most, then the rest counted: every agent whose trust passes through the endorser can move at once. */
function named(moved: TrustScore[], before: Map<string, TrustScore>, verb: string): string[] {
  const list = moved.slice(0, DROPS_NAMED).map((s) => {
    const b = before.get(s.agent)
    return `${s.agent.slice(0, 12)} ${verb} from ${b?.tier ?? 'newcomer'} to ${s.tier} (${(b?.score ?? 0).toFixed(3)} -> ${s.score.toFixed(3)})`
  })
  if (moved.length > DROPS_NAMED) list.push(`and ${moved.length - DROPS_NAMED} more`)
  return list
}

const given = (scores: Map<string, TrustScore>, self: string) =>
  [...scores.values()].reduce((t, s) => t + (s.endorsedBy.find((e) => e.agent === self)?.weight ?? 0), 0)

/**
 * What an endorsement did to the others' tiers, in the signing key's queries: weights summing to
 * more than 1 are scaled to their shares, so endorsing a second colleague can drop the first from
 * trusted to established, and with it whose retractions and epochs count; withdrawing or lowering
 * one gives the others a larger share, which can raise them to trusted, and their old retractions
 * then count. Both are said, never silent.
 */
function tierChanges(before: Map<string, TrustScore>, after: Map<string, TrustScore>, self: string, target: string): string[] {
  const others = [...after.values()].filter((s) => s.agent !== target && s.agent !== self).sort((a, b) => (a.agent < b.agent ? -1 : 1))
  const tierBefore = (s: TrustScore) => RANK[before.get(s.agent)?.tier ?? 'newcomer']
  const drops = others.filter((s) => RANK[s.tier] < tierBefore(s))
  const rises = others.filter((s) => RANK[s.tier] >= COUNTS && tierBefore(s) < COUNTS)
  const out: string[] = []
  const sum = given(after, self)
  if (drops.length) {
    const why =
      sum > 1
        ? `your endorsements now sum to ${Number(sum.toFixed(3))}, more than 1, so each counts for its share (docs/lenses.md, Trust)`
        : 'some of their trust came through this endorsement'
    const t = after.get(target)
    const list = named(drops, before, 'drops')
    if (sum > 1 && t) list.push(`${target.slice(0, 12)} itself stands at ${t.tier} (${t.score.toFixed(3)})`)
    out.push(`${why}: ${list.join(', ')}; retractions of others' records and epochs count only from tier trusted or above (\`steme trust list\`)`)
  }
  if (rises.length) {
    const was = given(before, self)
    const why =
      was > 1
        ? `your endorsements now sum to ${Number(sum.toFixed(3))}, down from ${Number(was.toFixed(3))}, so the others count for more (docs/lenses.md, Trust)`
        : 'this endorsement raised their trust'
    out.push(
      `${why}: ${named(rises, before, 'rises').join(', ')}; their retractions of others' records and epochs now count in your queries, older ones too (\`steme trust list\`)`,
    )
  }
  return out
}

/**
 * `checkTiers`: say when the endorsement drops or raises others' tiers (default on); it reads every trust
 * record before and after, which a daemon's store (--remote) does not answer.
 */
export async function trustOp(deps: Deps, input: {agent: string; weight: string; checkTiers?: boolean}): Promise<{id: string; target: string; weight: number; warnings?: string[]}> {
  const target = input.agent.toLowerCase()
  if (!isHex(target, 64)) {
    // Tables print keys cut short (trust list 16 chars, log 12): a prefix is what a user copies from them.
    const prefix = /^[0-9a-f]{1,63}$/.test(target)
    throw new UserError(`"${field(input.agent)}" is not an agent key${prefix ? `: it has ${target.length} hex chars, an agent key 64` : ''}`, {
      hint: 'give the whole 64-hex public key: `steme whoami` prints yours, `steme trust list --json` and `steme log --json` print other agents\' (their tables cut keys short)',
    })
  }
  const weight = parseWeight(input.weight)
  const key = deps.key()
  if (target === key.publicHex) throw new UserError('an agent cannot endorse itself', {hint: 'your own key is always trusted'})
  const body: TrustBody = {v: 1, kind: 'trust', agent: key.publicHex, hlc: deps.clock.tick(), target, weight}
  const sealed = sealOrExplain(() => seal(body, key), 'trust')
  const check = input.checkTiers !== false
  const before = check ? (await gatherPolicy(deps, {self: key.publicHex})).policy.scores : undefined
  await deps.store.insert([sealed])
  await deps.saveClock()
  const after = check ? (await gatherPolicy(deps, {self: key.publicHex})).policy.scores : undefined
  const warnings = before && after ? tierChanges(before, after, key.publicHex, target) : []
  return {id: sealed.record.id, target, weight, ...(warnings.length ? {warnings} : {})}
}

export interface TrustList {
  self?: string
  thresholds: {trusted: number; established: number; restart: number}
  agents: Array<TrustScore & {why: string}>
}

export async function trustListOp(deps: Pick<Deps, 'store' | 'config'> & Partial<Pick<Deps, 'key'>>, input: {asOf?: string} = {}): Promise<TrustList> {
  const self = selfOf(deps)
  const {policy} = await gatherPolicy(deps, {asOf: input.asOf === undefined ? undefined : hlcBound(input.asOf, inputName('as-of')), self})
  // An endorsement passes on only the trust its author has: one from an agent nobody here trusts
  // leaves its target at 0, which the row must say or "endorsed by X (0.8)" next to 0.000 reads as a bug.
  const trustless = (agent: string) => !(policy.scores.get(agent)?.score ?? 0)
  const agents = [...policy.scores.values()]
    .sort((a, b) => b.score - a.score || (a.agent < b.agent ? -1 : 1))
    .map((s) => ({
      ...s,
      why: s.pretrusted
        ? s.agent === self
          ? "the store's own key"
          : 'pre-trusted in the store config'
        : s.endorsedBy.length
          ? `endorsed by ${s.endorsedBy.map((e) => `${e.agent.slice(0, 12)} (${e.weight}${trustless(e.agent) ? ', itself without trust here' : ''})`).join(', ')}`
          : 'no current endorsements',
    }))
  return {self, thresholds: {trusted: TIERS.trusted, established: TIERS.established, restart: RESTART}, agents}
}
