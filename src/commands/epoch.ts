import {Args, Flags} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {epochOp} from '../ops/epoch.js'

export default class Epoch extends StemeCommand {
  static summary = 'Declare a named epoch (an era starting at a date) for epoch-aware lenses'
  static examples = ['<%= config.bin %> epoch post-2024-guideline --starts 2024-03-01 --note "new dosing guideline"']
  static args = {name: Args.string({required: true, description: 'the epoch name'})}
  static flags = {
    starts: Flags.string({required: true, description: 'when it starts (ISO-8601 date)'}),
    note: Flags.string({description: 'what changed'}),
    key: StemeCommand.keyFlag(),
  }

  async run(): Promise<{id: string; name: string; starts: string}> {
    const {args, flags} = await this.parse(Epoch)
    const rt = await this.open({store: flags.store, keyName: flags.key})
    const res = await epochOp(rt, {name: args.name, starts: flags.starts, note: flags.note})
    this.out(res.id)
    return res
  }
}
