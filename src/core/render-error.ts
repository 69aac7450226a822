/** How a command reports an error that ends it: a user error with its hint and exit code, or a bug. */
import {BugError, UserError} from './errors.js'

/** Write the error to stderr (and, with --json, as JSON to stdout); returns the exit code. */
export function renderError(err: unknown, json: boolean): number {
  if (err instanceof UserError) {
    if (json) process.stdout.write(JSON.stringify({error: {code: err.code, message: err.message, hint: err.hint}}) + '\n')
    process.stderr.write(`error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`)
    return err.exit
  }
  const e = err as Error | undefined
  const bug = err instanceof BugError ? err : new BugError(e?.message ?? String(err), {cause: err})
  process.stderr.write(`internal error (a bug in steme, please report it): ${bug.message}\n`)
  if (process.env.STEME_DEBUG) process.stderr.write(String(e?.stack) + '\n')
  return 1
}
