/** Parse claims text: TOML (errors with line and column) then validation. */
import {parse as parseToml, TomlError} from 'smol-toml'
import {UserError} from '../core/errors.js'
import {validateClaims, type ClaimsFile} from './file.js'

/** The claims file's TOML as plain data; malformed TOML is a UserError (exit 2) with line and column. */
export function parseClaimsToml(text: string, path: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>
  } catch (e) {
    const at = e instanceof TomlError ? {line: e.line, column: e.column} : undefined
    const msg = (e as Error).message.split('\n')[0]
    throw new UserError(`${path}${at ? `:${at.line}:${at.column}` : ''}: not valid TOML: ${msg}`, {code: 'config', hint: 'fix the claims file at that line and column', at})
  }
}

export function parseClaims(text: string, path: string): ClaimsFile {
  return validateClaims(parseClaimsToml(text, path), text, path)
}
