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
    const msg = (e as Error).message.split('\n')[0].replace(/^Invalid TOML document: /, '')
    const {what, hint} = explain(msg, at ? lineAt(text, at.line) : undefined, at?.column)
    throw new UserError(`${path}${at ? `:${at.line}:${at.column}` : ''}: not valid TOML: ${what}`, {code: 'config', hint: hint ?? 'fix the claims file at that line and column', at})
  }
}

const lineAt = (text: string, line: number): string => text.split(/\r?\n|\r/)[line - 1] ?? ''

/**
 * The parser's words for the slips people make most, said as what to fix: a string whose closing
 * quote is missing (the parser meets the line's end and calls it a control character), and text
 * written without quotes (an "invalid value").
 */
function explain(msg: string, line: string | undefined, column = 1): {what: string; hint?: string} {
  if (line === undefined) return {what: msg}
  const rest = line.slice(column - 1)
  if (/control characters are not allowed in strings/.test(msg) && /^\r?$/.test(rest)) {
    return {what: 'a string is not closed: the line ends before its closing quote', hint: 'add the closing quote at the end of the string (for text over several lines, use """...""")'}
  }
  const word = /^[A-Za-z_][\w.:/-]*/.exec(rest)?.[0]
  if (msg === 'invalid value' && word && !['true', 'false', 'inf', 'nan'].includes(word)) {
    return {what: `\`${word}\` is not a TOML value: text needs quotes`, hint: `write "${word}" (true and false, numbers, arrays [...] and tables {...} go without)`}
  }
  // 20.19.1 or 1.2.3-rc: a version is text to TOML, not a number.
  const value = /^\s*[\w.-]+\s*=\s*([\w.+-]+)\s*(?:#.*)?$/.exec(line)?.[1]
  if (/numeric literal/.test(msg) && value) return {what: `${value} is not a TOML number: a version, or any other text, needs quotes`, hint: `write "${value}" (\`compare = "gte"\` orders versions written as text)`}
  if (/redefine an already defined/.test(msg) && word && /^\s*=/.test(rest.slice(word.length))) return {what: `${word} is set twice in the same table`, hint: 'keep one of them; each claim starts with its own [[claim]] line'}
  return {what: msg}
}

export function parseClaims(text: string, path: string): ClaimsFile {
  return validateClaims(parseClaimsToml(text, path), text, path)
}
