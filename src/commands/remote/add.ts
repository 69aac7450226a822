import {Args} from '@oclif/core'
import {StemeCommand} from '../../command.js'
import {addRemote, type AddedRemote} from '../../ops/remote.js'
import {initCommandFor, locateExistingStore} from '../../config.js'

export default class RemoteAdd extends StemeCommand {
  static summary = 'Name a remote store: ssh://user@host[:port]/path, http(s)://host:port, or a path'
  static description = `A relative path is resolved against the current directory and stored as an absolute path
(a relative path written into [remotes] by hand is resolved against the store's directory). A path
where no store exists yet is added with a warning.`
  static examples = ['<%= config.bin %> remote add origin ssh://me@host/srv/team-store', '<%= config.bin %> remote add laptop ../other/.steme']
  static args = {name: Args.string({required: true}), url: Args.string({required: true})}

  async run(): Promise<AddedRemote> {
    const {args, flags} = await this.parse(RemoteAdd)
    const r = addRemote(locateExistingStore(flags.store).dir, args.name, args.url)
    this.out(`added remote ${r.name} (${r.kind}): ${r.url}${r.given === undefined ? '' : ` (${r.given} from this directory, stored absolute)`}`)
    if (r.missing) this.note(`warning: no store at ${r.url} yet; create it there with \`${initCommandFor(r.url) ?? 'steme init'}\`, or fix the path with \`steme remote remove ${r.name}\` and add it again`)
    return r
  }
}
