/**
 * Every lens by name, with the parameters it takes. Apart from the lenses themselves (registry.ts)
 * so that reading a store's config, which checks [lenses.<name>], does not load every lens.
 */

/**
 * A lens parameter: what it takes (for messages), its type in config.toml ([lenses.<name>]), and
 * a check of its value, from the config or from the expression (where every value is text).
 */
export interface ParamSpec {
  takes: string
  toml: 'number' | 'list'
  check?: (v: unknown) => string | undefined
}

import {unitNumber} from '../core/text.js'

/** An `agent:` entry of an authority order that is not hex (a key's name, a typo): it would match nobody, silently. */
function badAgentPattern(v: unknown): string | undefined {
  const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(/[\s|;]+/) : []
  const bad = items.find((x) => typeof x === 'string' && x.startsWith('agent:') && !/^agent:[0-9a-fA-F]+$/.test(x))
  return bad === undefined ? undefined : `${JSON.stringify(bad)} is not agent:<hex prefix> (agent keys are hex digits; self names your own key)`
}

export const LENS_PARAMS = {
  recency: {},
  confidence: {},
  consensus: {},
  votes: {},
  authority: {order: {takes: 'a list of source globs, agent:<hex prefix> or self, best first', toml: 'list', check: (v) => badAgentPattern(v)}},
  trust: {},
  skeptic: {threshold: {takes: 'a number in [0, 1]', toml: 'number', check: (v) => (unitNumber(String(v)) !== undefined ? undefined : 'must be a number in [0, 1]')}},
  epoch: {},
  reliability: {},
} satisfies Record<string, Record<string, ParamSpec>>

export type LensName = keyof typeof LENS_PARAMS
