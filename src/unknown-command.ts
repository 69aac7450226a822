/** The error for words that name no command: the first word that is not one, the nearest names there are, and where to look. */
import type {Interfaces} from '@oclif/core'
import {UserError} from './core/errors.js'
import {hideSeeds, redactUrls} from './core/redact.js'
import {closest, shellWord} from './core/words.js'

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
export function unknownCommand(config: Interfaces.Config, words: string[], depth: number, after: string[] = []): UserError {
  const prefix = words.slice(0, depth)
  const word = words[depth] ?? ''
  // oclif cut the flag at its colons, as a command name's parts: `--store=postgres://u@h/db` is whole again.
  if (depth === 0 && word.startsWith('-') && !VERSION_WORDS.has(word)) return flagFirst(config, words.join(':'), after)
  const names = namesUnder(config, prefix)
  const shown = (n: string) => `"${hideSeeds([...prefix, n].join(' '))}"`
  let near = nearNames(word, names).map(shown)
  const other = depth === 0 ? OTHER_NAMES[word.toLowerCase()]?.filter((n) => names.includes(n)) : undefined
  if (other?.length) near = other.map(shown)
  if (depth === 0 && VERSION_WORDS.has(word)) near = ['--version']
  const where = [config.bin, ...prefix].join(' ')
  return new UserError(`unknown command ${shown(word)}${near.length ? `; did you mean ${near.join(' or ')}?` : ''}`, {
    hint: `see \`${where} --help\` for the commands there are`,
  })
}

/** The names of the commands and topics right under a topic (`trust` -> list), or of the top level. */
function namesUnder(config: Interfaces.Config, prefix: string[]): string[] {
  const depth = prefix.length
  const under = (id: string) => {
    const parts = id.split(':')
    return parts.length === depth + 1 && prefix.every((p, i) => parts[i] === p) ? parts[depth] : undefined
  }
  return [...config.commands.filter((c) => !c.hidden).map((c) => under(c.id)), ...config.topics.filter((t) => !t.hidden).map((t) => under(t.name))].filter((n): n is string => n !== undefined)
}

/** The names a mistyped word was probably meant as: one or two edits away, else what it abbreviates (two at most). */
function nearNames(word: string, names: string[]): string[] {
  // Command names are short and few: one edit in a short word is a typo, two already reach other commands ("nope", "vote").
  const near = closest(word, names, {max: 2, within: Math.max(1, Math.floor(word.length / 3))})
  if (near.length) return near
  // The start of a name or two (`keys gen`, `ver`, `sy`): what it abbreviates.
  const starts = word.length >= 2 ? [...new Set(names.filter((n) => n.startsWith(word.toLowerCase())))].sort() : []
  return starts.length <= 2 ? starts : []
}

/**
 * A command that is a topic too and takes arguments (`trust <agent> <weight>`, with `trust list`
 * under it) reads a mistyped command under it (`trust lis`) as its first argument. When that word
 * cannot be such an argument (`plausible` says what can) and is near a command under the topic,
 * the error for it, as an unknown command's; else undefined, and the command goes on.
 */
export function commandUnderTopic(config: Interfaces.Config, topic: string, word: string | undefined, plausible: (word: string) => boolean, takes: string): UserError | undefined {
  if (word === undefined || plausible(word)) return undefined
  const prefix = topic.split(':')
  const near = nearNames(word, namesUnder(config, prefix))
  if (!near.length) return undefined
  const shown = (n: string) => `"${hideSeeds([...prefix, n].join(' '))}"`
  return new UserError(`unknown command ${shown(word)}; did you mean ${near.map(shown).join(' or ')}?`, {
    hint: `see \`${[config.bin, ...prefix].join(' ')} --help\` for the commands there are; \`${[config.bin, ...prefix].join(' ')}\` itself takes ${takes}`,
  })
}

/**
 * A flag before the command (`steme --store ../team stats`, as `git -C dir log` goes): said as
 * that, with the command line put in order when a word after it names a command, rather than as
 * an unknown command "--store".
 */
function flagFirst(config: Interfaces.Config, flag: string, after: string[]): UserError {
  const args = [flag, ...after]
  let at = -1
  let len = 0
  // A word right after a flag may be its value (`--store log query x`): taken for the command only
  // when no other word is one.
  const valueLike = (i: number) => args[i - 1].startsWith('-') && !args[i - 1].includes('=')
  for (const pass of [false, true]) {
    for (let i = 1; i < args.length && at < 0; i++) {
      if (!pass && valueLike(i)) continue
      // The longest run of words from here that names a command (`keys list`, `serve token create`).
      for (let n = Math.min(3, args.length - i); n > 0; n--) {
        if (config.findCommand(args.slice(i, i + n).join(':'))) {
          at = i
          len = n
          break
        }
      }
    }
  }
  // The words go into the hint, which is printed as written: a URL's password or token (`--store
  // postgres://ci:pw@db/team`, `--remote https://token@host`) is hidden here, as every message hides it.
  const shown = (ws: string[]) => hideSeeds(redactUrls(ws.map(shellWord).join(' ')))
  const fixed = at < 0 ? `${config.bin} <command> ${shown(args)}` : `${config.bin} ${shown([...args.slice(at, at + len), ...args.slice(0, at), ...args.slice(at + len)])}`
  return new UserError(`${shown([flag])} comes before the command: flags go after it`, {
    hint: `run \`${fixed}\`${at < 0 ? ` (see \`${config.bin} --help\` for the commands there are)` : ''}`,
  })
}
