/** Turn a RecordError from sealing user input into a UserError that names the bad field. */
import {RecordError, UserError} from '../core/errors.js'

/** The record fields each command fills from a flag, named in errors as the user typed them. */
const FLAGS: Record<string, Record<string, string>> = {
  assert: {'valid.from': '--valid-from', 'valid.to': '--valid-to', valid: '--valid-from/--valid-to', source: '--source', epoch: '--epoch', confidence: '--confidence'},
  epoch: {starts: '--starts', note: '--note'},
  retract: {reason: '--reason', source: '--source'},
}

/** `command` is the steme command whose --help lists the accepted values (such as "assert"). */
export function sealOrExplain<T>(fn: () => T, command: string): T {
  try {
    return fn()
  } catch (e) {
    if (e instanceof RecordError) {
      const flag = FLAGS[command]?.[e.field]
      const what = flag ? `${flag}${e.message.slice(e.field.length)}` : e.message
      throw new UserError(`invalid ${what}`, {code: 'invalid_record', hint: `see \`steme ${command} --help\` for the accepted values`})
    }
    throw e
  }
}
