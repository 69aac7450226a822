/** Every lens by name, and the parser for lens expressions given on the command line or in config. */
import {UserError} from '../core/errors.js'
import {recency} from './recency.js'
import type {Lens} from './types.js'

export const LENSES: Record<string, Lens> = {recency}

export function lensByName(name: string): Lens {
  const lens = LENSES[name]
  if (!lens) throw new UserError(`unknown lens "${name}"`, {hint: `known lenses: ${Object.keys(LENSES).join(', ')}`})
  return lens
}
