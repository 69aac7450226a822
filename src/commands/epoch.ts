import {Args, Flags} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {KeyStore} from '../keystore.js'
import {epochOp, type EpochResult} from '../ops/epoch.js'
import {field, visible} from '../ui/table.js'

export default class Epoch extends StemeCommand {
  static summary = 'Declare a named epoch (an era starting at a date) for epoch-aware lenses'
  static description = `Epochs count where their author is trusted: the store's own key, pre-trusted agents and agents of tier trusted or above (docs/lenses.md). An epoch by anyone else is stored and syncs, but queries ignore it, and --explain says so.
Through a daemon (--remote, or the \`steme serve\` holding this store) the epoch is signed here and posted; whether it redefines an earlier declaration of the name is then not said (redefines is absent from --json), nor, signed with another key than your default one, whether your default key counts it (trusted is absent).`
  static examples = ['<%= config.bin %> epoch post-2024-guideline --starts 2024-03-01 --note "new dosing guideline"']
  static args = {name: Args.string({required: true, description: 'the epoch name'})}
  static flags = {
    starts: Flags.string({required: true, description: 'when it starts (ISO-8601 date)'}),
    note: Flags.string({description: 'what changed'}),
    key: StemeCommand.keyFlag(),
    ...StemeCommand.remoteFlags,
  }

  async run(): Promise<EpochResult> {
    const {args, flags} = await this.parse(Epoch)
    // Through the daemon that holds this store, or --remote, as assert and vote do: signed here, the record posted.
    const t = await this.target(flags, {keyName: flags.key})
    const deps = t.rt ?? (await t.remote.deps(() => new KeyStore().load(flags.key)))
    // Signing with another key than your default one (--key, STEME_KEY): say whether your default key's queries count it.
    const viewer = (t.rt?.keys ?? new KeyStore()).list().find((k) => k.default && k.agent)?.agent
    const res = await epochOp(deps, {name: args.name, starts: flags.starts, note: flags.note, viewer, storeWide: t.rt !== undefined})
    this.outStored('epoch', res.id)
    if (t.remote) {
      const unchecked = res.trusted === undefined ? `, nor whether your default key's queries count an epoch signed with ${res.agent.slice(0, 12)}` : ''
      this.note(visible(`note: through steme serve: whether this redefines an earlier epoch ${JSON.stringify(res.name)} is not checked here${unchecked}; \`steme log --json\` lists the declarations`))
    }
    if (res.redefines) {
      const was = res.redefines
      const same = was.starts === res.starts ? `, the same start: nothing changes for the lenses` : `; it now starts ${field(res.starts)}`
      this.note(visible(`note: epoch ${JSON.stringify(res.name)} was declared before (${was.id.slice(0, 12)}, by ${was.agent.slice(0, 12)}), starting ${field(was.starts)}; the latest declaration of a name defines it${same}`))
    }
    if (res.trusted === false) {
      const agent = res.agent.slice(0, 12)
      this.note(
        `note: queries signed with your default key (${res.viewer.slice(0, 12)}) ignore this epoch: it does not trust ${agent}, the key this was signed with. To count it: \`steme trust ${res.agent} <weight>\` signed with your default key (enough to reach tier trusted: see \`steme trust list\`), or add its key to [trust] pretrusted in the store config`,
      )
    }
    return res
  }
}
