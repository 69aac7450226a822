/** steme's --help: oclif's, except that words naming no command get steme's unknown-command error (exit 2, nearest names) rather than oclif's own. */
import {Help} from '@oclif/core'
import {renderError} from './core/render-error.js'
import {unknownCommand} from './unknown-command.js'

export default class StemeHelp extends Help {
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
