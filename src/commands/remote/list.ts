import {StemeCommand} from '../../command.js'
import {listRemotes, type RemoteEntry} from '../../ops/remote.js'
import {locateExistingStore} from '../../config.js'
import {table} from '../../ui/table.js'

export default class RemoteList extends StemeCommand {
  static summary = 'List named remotes'
  static examples = ['<%= config.bin %> remote list', '<%= config.bin %> remote list --json']

  async run(): Promise<{remotes: RemoteEntry[]}> {
    const {flags} = await this.parse(RemoteList)
    const remotes = listRemotes(locateExistingStore(flags.store).dir)
    this.out(remotes.length ? table(['NAME', 'KIND', 'URL'], remotes.map((r) => [r.name, r.kind, r.url])) : 'no remotes (add one with `steme remote add <name> <url>`)')
    return {remotes}
  }
}
