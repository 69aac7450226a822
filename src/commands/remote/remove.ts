import {Args} from '@oclif/core'
import {StemeCommand} from '../../command.js'
import {removeRemote, type RemoteEntry} from '../../ops/remote.js'
import {locateExistingStore} from '../../config.js'

export default class RemoteRemove extends StemeCommand {
  static summary = 'Forget a named remote (the remote store itself is untouched)'
  static examples = ['<%= config.bin %> remote remove origin']
  static args = {name: Args.string({required: true})}

  async run(): Promise<RemoteEntry> {
    const {args, flags} = await this.parse(RemoteRemove)
    const r = removeRemote(locateExistingStore(flags.store).dir, args.name)
    this.out(`removed remote ${r.name}`)
    return r
  }
}
