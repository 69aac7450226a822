/** Claims that name a lens must name one that exists: the lens registry loads only when some claim names one. */
import {oneLine, UserError} from '../core/errors.js'
import {field} from '../core/text.js'
import type {ClaimsFile} from './file.js'

/** A lens registry that may also compile lens expressions ("trust, else recency"), when the lens library has them. */
type Registry = {compile?: (text: string) => unknown; lensByName: (name: string) => unknown}

/** Unknown lenses are a broken claims file (exit 2). */
export async function checkLenses(cf: ClaimsFile): Promise<void> {
  const named = cf.claims.filter((c) => c.lens !== undefined)
  if (!named.length) return
  const reg = (await import('../lenses/registry.js')) as unknown as Registry
  const check = reg.compile ?? reg.lensByName
  for (const c of named) {
    try {
      check(c.lens!)
    } catch (e) {
      throw new UserError(`${field(cf.path)}:${c.line}: claim "${field(c.id)}": ${oneLine((e as Error).message)}`, {code: 'config', hint: (e as UserError).hint, at: {line: c.line}})
    }
  }
}
