import {StemeCommand} from '../../command.js'
import {uninstallHookOp, type HookResult} from '../../ops/hook.js'

export default class HookUninstall extends StemeCommand {
  static baseFlags = StemeCommand.storelessFlags
  static summary = 'Remove the steme pre-commit (and pre-merge-commit) hook and restore the hooks they replaced, if any'
  static examples = ['<%= config.bin %> hook uninstall']

  async run(): Promise<HookResult> {
    await this.parse(HookUninstall)
    const res = uninstallHookOp({cwd: process.cwd()})
    const say = (r: {path: string; action: string}) =>
      ({
        uninstalled: `Removed ${r.path}`,
        restored: `Removed steme's hook and restored the previous one at ${r.path}`,
        absent: `No pre-commit hook at ${r.path}; nothing to do`,
      })[r.action] ?? ''
    this.out(say(res))
    if (res.merge) this.out(say(res.merge))
    return res
  }
}
