import {Flags} from '@oclif/core'
import {realpathSync} from 'node:fs'
import {StemeCommand} from '../../command.js'
import {installHookOp, type HookResult} from '../../ops/hook.js'

export default class HookInstall extends StemeCommand {
  static baseFlags = StemeCommand.storelessFlags
  static summary = 'Install git pre-commit and pre-merge-commit hooks that run `steme verify --staged`'
  static description = `Writes pre-commit into the repo's hooks directory, and pre-merge-commit, which \`git merge\` runs instead before recording a merge it made without conflicts (core.hooksPath when the repo sets it; a single directory set in the global or system git config, which every repository shares, is refused). Refuses to replace a pre-commit hook that is not steme's unless --force is given; the replaced hook is kept next to it, does not run while steme's is there, and \`steme hook uninstall\` restores it. To run both, call \`steme verify --staged\` from your own hook instead. Skip the check once with SKIP=steme-verify git commit ...`
  static examples = ['<%= config.bin %> hook install', '<%= config.bin %> hook install --force --fail-on-warn']
  static flags = {
    force: Flags.boolean({description: 'replace an existing pre-commit hook (kept as pre-commit.steme-backup, not run; uninstall restores it)'}),
    'fail-on-warn': Flags.boolean({description: 'the hook refuses commits that break warn claims too'}),
  }

  async run(): Promise<HookResult> {
    const {flags} = await this.parse(HookInstall)
    const script = process.argv[1] ? realpathSync(process.argv[1]) : undefined
    const res = installHookOp({
      cwd: process.cwd(),
      force: flags.force,
      self: script ? {node: process.execPath, script} : undefined,
      args: flags['fail-on-warn'] ? ['--fail-on-warn'] : [],
    })
    this.out(`${res.action === 'updated' ? 'Updated' : 'Installed'} ${res.path}${res.backup ? ` (the previous hook is kept as ${res.backup}; it does not run while steme's hook is there, and \`steme hook uninstall\` restores it)` : ''}`)
    if (res.merge?.action === 'installed' || res.merge?.action === 'updated') {
      this.out(`${res.merge.action === 'updated' ? 'Updated' : 'Installed'} ${res.merge.path} (merges \`git merge\` makes without conflicts)${res.merge.backup ? ` (the previous hook is kept as ${res.merge.backup})` : ''}`)
    } else if (res.merge?.reason) this.note(`warning: ${res.merge.reason}`)
    if (!res.claimsFile) this.note('note: there is no .steme/claims.toml yet, so commits are refused until you add one: `steme claims add`')
    return res
  }
}
