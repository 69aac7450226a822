/** Turn a RecordError from sealing user input into a UserError that names the bad field. */
import {RecordError, UserError} from '../core/errors.js'

/** `command` is the steme command whose --help lists the accepted values (such as "assert"). */
export function sealOrExplain<T>(fn: () => T, command: string): T {
  try {
    return fn()
  } catch (e) {
    if (e instanceof RecordError) throw new UserError(`invalid ${e.message}`, {code: 'invalid_record', hint: `see \`steme ${command} --help\` for the accepted values`})
    throw e
  }
}
