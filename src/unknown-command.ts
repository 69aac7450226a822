/** The error for words that name no command: the first word that is not one, the nearest names there are, and where to look. */
import type {Interfaces} from '@oclif/core'
import {UserError} from './core/errors.js'
import {hideSeeds} from './core/redact.js'
import {closest} from './core/words.js'

/** What people type for the version, which steme takes as a flag. */
const VERSION_WORDS = new Set(['version', '-v', '-V', '--verison', '--versoin', '-version'])

/**
 * Words other tools use for what a steme command does. "import", one edit from "export", was
 * answered with the command that does the opposite; these are said instead of the nearest spelling.
 */
const OTHER_NAMES: Record<string, string[]> = {
  import: ['ingest'],
  load: ['ingest'],
  get: ['query'],
  ask: ['query'],
  add: ['assert'],
  put: ['assert'],
  history: ['log'],
  status: ['stats'],
  check: ['verify', 'fsck'],
}

/**
 * `words` as typed (without the arguments after them), of which the first `depth` name a topic
 * (`keys`, `serve token`): the next word is the unknown one. The commands and topics under that
 * topic, and only those, are the names it may have been meant as.
 */
export function unknownCommand(config: Interfaces.Config, words: string[], depth: number): UserError {
  const prefix = words.slice(0, depth)
  const word = words[depth] ?? ''
  const under = (id: string) => {
    const parts = id.split(':')
    return parts.length === depth + 1 && prefix.every((p, i) => parts[i] === p) ? parts[depth] : undefined
  }
  const names = [
    ...config.commands.filter((c) => !c.hidden).map((c) => under(c.id)),
    ...config.topics.filter((t) => !t.hidden).map((t) => under(t.name)),
  ].filter((n): n is string => n !== undefined)
  const shown = (n: string) => `"${hideSeeds([...prefix, n].join(' '))}"`
  // Command names are short and few: one edit in a short word is a typo, two already reach other commands ("nope", "vote").
  let near = closest(word, names, {max: 2, within: Math.max(1, Math.floor(word.length / 3))}).map(shown)
  // The start of a name or two (`keys gen`, `ver`, `sy`): what it abbreviates.
  const starts = word.length >= 2 ? [...new Set(names.filter((n) => n.startsWith(word.toLowerCase())))].sort() : []
  if (!near.length && starts.length <= 2) near = starts.map(shown)
  const other = depth === 0 ? OTHER_NAMES[word.toLowerCase()]?.filter((n) => names.includes(n)) : undefined
  if (other?.length) near = other.map(shown)
  if (depth === 0 && VERSION_WORDS.has(word)) near = ['--version']
  const where = [config.bin, ...prefix].join(' ')
  return new UserError(`unknown command ${shown(word)}${near.length ? `; did you mean ${near.join(' or ')}?` : ''}`, {
    hint: `see \`${where} --help\` for the commands there are`,
  })
}
