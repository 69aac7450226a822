import {StemeCommand} from '../../command.js'
import {uninstallHookOp, type HookResult} from '../../ops/hook.js'

export default class HookUninstall extends StemeCommand {
  static baseFlags = StemeCommand.storelessFlags
  static summary = 'Remove the steme pre-commit hook and restore the hook it replaced, if any'
  static examples = ['<%= config.bin %> hook uninstall']

  async run(): Promise<HookResult> {
    await this.parse(HookUninstall)
    const res = uninstallHookOp({cwd: process.cwd()})
    const msg = {
      uninstalled: `Removed ${res.path}`,
      restored: `Removed steme's hook and restored the previous one at ${res.path}`,
      absent: `No pre-commit hook at ${res.path}; nothing to do`,
      installed: '',
      updated: '',
    }[res.action]
    this.out(msg)
    return res
  }
}
