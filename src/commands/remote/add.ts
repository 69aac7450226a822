import {Args} from '@oclif/core'
import {StemeCommand} from '../../command.js'
import {addRemote, type RemoteEntry} from '../../ops/remote.js'
import {locateStore} from '../../config.js'

export default class RemoteAdd extends StemeCommand {
  static summary = 'Name a remote store: ssh://user@host[:port]/path, http(s)://host:port, or a path'
  static examples = ['<%= config.bin %> remote add origin ssh://me@host/srv/team-store', '<%= config.bin %> remote add laptop ../other/.steme']
  static args = {name: Args.string({required: true}), url: Args.string({required: true})}

  async run(): Promise<RemoteEntry> {
    const {args, flags} = await this.parse(RemoteAdd)
    const r = addRemote(locateStore(flags.store).dir, args.name, args.url)
    this.out(`added remote ${r.name} (${r.kind}): ${r.url}`)
    return r
  }
}
