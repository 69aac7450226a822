/** Stores built once and copied: a test that changes a store gets its own copy of one made the usual way. */
import {cpSync} from 'node:fs'
import {sandbox, type Sandbox} from './cli.js'

/**
 * A new sandbox holding a copy of every file of `template` (its .steme store, config and keys;
 * file modes kept): what `steme init` and the commands run in the template left, without
 * running them again.
 */
export function sandboxFrom(template: Pick<Sandbox, 'dir'>, prefix?: string): Sandbox {
  const sb = sandbox(prefix)
  cpSync(template.dir, sb.dir, {recursive: true})
  return sb
}
