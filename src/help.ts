/** steme's --help: oclif's, except that words naming no command get steme's unknown-command error (exit 2, nearest names) rather than oclif's own. */
import {Help, type Command} from '@oclif/core'
import {renderError} from './core/render-error.js'
import {unknownCommand} from './unknown-command.js'

/**
 * A description as oclif should wrap it: the lines of a paragraph joined, since oclif wraps each
 * source line on its own and a sentence broken in the source came out broken mid-line ("it prints
 * nothing" / "else on stdout"). Lines that are meant as lines stay: indented ones (a grammar, an
 * example) and ones that start a list item (`-`, `*`) or a flag (`--as-of is ...`).
 */
export function reflow(text: string): string {
  return text
    .split('\n\n')
    .map((para) => para.replace(/\n(?![ \t]|[-*] |--)/g, ' '))
    .join('\n\n')
}

export default class StemeHelp extends Help {
  protected override formatCommand(command: Command.Loadable): string {
    return super.formatCommand(command.description ? {...command, description: reflow(command.description)} : command)
  }

  /**
   * `argv` is what came with --help (`keys generate --help`), or the words after `steme help`. The
   * longest run of leading words that names a command gets its help, arguments after it aside; else
   * the topic they name; else the first word that names nothing is reported, as `steme <typo>` is.
   */
  override async showHelp(argv: string[]): Promise<void> {
    const helpFlags = new Set(['--help', ...(this.config.pjson.oclif.additionalHelpFlags ?? [])])
    const words: string[] = []
    for (const a of argv) {
      if (helpFlags.has(a)) continue
      if (a === '--' || a.startsWith('-')) break
      if (a === 'help' && words.length === 0) continue
      words.push(a)
    }
    if (words.length === 0) return super.showHelp(argv)
    for (let n = words.length; n > 0; n--) {
      if (this.config.findCommand(words.slice(0, n).join(':'))) return super.showHelp(words.slice(0, n))
    }
    let depth = words.length
    while (depth > 0 && !this.config.findTopic(words.slice(0, depth).join(':'))) depth--
    if (depth === words.length) return super.showHelp(words)
    process.exitCode = renderError(unknownCommand(this.config, words, depth), argv.includes('--json'))
  }
}
