/** oclif's command_not_found hook: words after a command go to it as arguments; any other word is an unknown command, rendered as every error is. */
import type {Hook} from '@oclif/core'
import {renderError} from './core/render-error.js'
import {unknownCommand} from './unknown-command.js'

/**
 * With spaces between topics and commands, oclif reads the words after a command that takes no
 * arguments as more of its name (`steme verify extra` asks for the command "verify:extra") and
 * lands here. The longest command those words start with is run with the rest, so that its own
 * parser refuses them as it refuses `steme verify --json extra`: one error style, exit 2.
 */
const hook: Hook.CommandNotFound = async function ({id, argv = [], config}) {
  const words = id.split(':')
  let n = words.length - 1
  for (; n > 0; n--) {
    const prefix = words.slice(0, n).join(':')
    const cmd = config.findCommand(prefix)
    // A command that is a topic too and takes no arguments (`serve`, with `serve token ...` under
    // it): the word after it can only be a command under it, mistyped (`serve tokens list`).
    if (cmd && Object.keys(cmd.args ?? {}).length === 0 && config.commands.some((c) => !c.hidden && c.id.startsWith(prefix + ':'))) break
    if (cmd) return config.runCommand(cmd.id, [...words.slice(n), ...argv], cmd)
    // A topic nearer than any command (`serve token nope`): the next word names a command that is not there.
    if (config.findTopic(prefix)) break
  }
  process.exitCode = renderError(unknownCommand(config, words, n, argv), argv.includes('--json') || id === '--json')
}

export default hook
