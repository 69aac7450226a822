import {Args, Flags} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {KeyStore} from '../keystore.js'
import {retractOp, type RetractResult} from '../ops/retract.js'
import {field} from '../ui/table.js'
import {plural} from '../core/words.js'

export default class Retract extends StemeCommand {
  static summary = 'Retract a record, or every assertion citing a source; derived assertions follow unless they have another justification'
  static description = `Nothing is deleted: the retraction is a signed record, and \`steme query --include-retracted\` still shows what it retracted.
Whose retractions count is the local policy: your own key, pre-trusted agents, agents of tier trusted or above, and any agent for its own records (by id or by source).
A retraction of other agents' records signed with another key than your default one (--key, STEME_KEY) counts for your default key's queries only where it trusts that key: the report says so.
Making the same retraction twice writes nothing new (the first one's reason stays the one shown).
\`steme show <id>\` explains why an assertion is retracted, with the chain.
Through a daemon (--remote, or the \`steme serve\` holding this store) the retraction is signed here and posted; what needs reads across the store is then not reported: the cascade counts (direct, derived and kept are absent from --json), an earlier same retraction (a second one is stored), and whether your default key honours one signed with another key (trusted is absent). \`steme query\` and \`steme show\` show its effect.`
  static examples = ['<%= config.bin %> retract 3f2a...(64 hex) --reason "typo"', '<%= config.bin %> retract --source lab:batch-7 --reason "contaminated samples"']
  static args = {id: Args.string({description: 'the record id to retract (or a unique prefix of it, 6+ hex chars)'})}
  static flags = {
    source: Flags.string({char: 's', description: 'retract every assertion citing this source instead', exclusive: ['id']}),
    reason: Flags.string({char: 'r', description: 'why, for the people reading `steme show`'}),
    key: StemeCommand.keyFlag(),
    ...StemeCommand.remoteFlags,
  }

  async run(): Promise<RetractResult> {
    const {args, flags} = await this.parse(Retract)
    // Through the daemon that holds this store, or --remote, as assert and vote do: signed here, the record posted.
    const t = await this.target(flags, {keyName: flags.key})
    const deps = t.rt ?? (await t.remote.deps(() => new KeyStore().load(flags.key)))
    // Signing with another key than your default one (--key, STEME_KEY): the report speaks for your default key's queries.
    const viewer = (t.rt?.keys ?? new KeyStore()).list().find((k) => k.default && k.agent)?.agent
    const res = await retractOp(deps, {target: args.id, source: flags.source, reason: flags.reason, viewer, storeWide: t.rt !== undefined})
    this.outStored('retraction', res.id)
    const short = res.id.slice(0, 12)
    if (res.duplicate) this.note(`you already made this retraction (${short}); nothing new written, and the reason shown stays that one's`)
    if (res.targetKind !== undefined && res.targetKind !== 'assertion') this.note(`${res.duplicate ? 'it retracts' : 'retracted'} the ${res.targetKind} ${res.target}`)
    else if (res.direct === undefined) this.note(`retracted ${res.target ?? `every assertion citing source "${field(res.source!)}"`}`)
    else this.note(`${res.duplicate ? 'it retracts' : 'retracted'} ${plural(res.direct, 'assertion')} directly, ${res.derived} derived; ${res.kept} derived kept by another justification`)
    if (t.remote) {
      const unchecked = res.trusted === undefined ? `, nor whether your default key's queries honour a retraction signed with ${res.agent.slice(0, 12)}` : ''
      this.note(`note: through steme serve: the cascade is not counted here, nor an earlier same retraction looked for${unchecked}; \`steme query\` and \`steme show\` show its effect`)
    }
    // Recorded and honoured by this key's own queries; for others' records, only where the agent is trusted.
    if (res.trusted === false && res.others) {
      const agent = res.agent.slice(0, 12)
      const what =
        res.targetKind !== undefined && res.targetKind !== 'assertion'
          ? `the ${res.targetKind} is another agent's`
          : res.others === res.direct
            ? res.direct === 1
              ? "the assertion is another agent's"
              : `all ${res.direct} assertions are other agents'`
            : `${res.others} of the ${res.direct} assertions it retracts directly ${res.others === 1 ? "is another agent's" : "are other agents'"}`
      this.note(
        `note: ${what}: retracted for queries signed with this key (${agent}), not for those of your default key (${res.viewer.slice(0, 12)}), which does not trust ${agent}; peers it syncs to honour it for them only where they trust ${agent} too. To count it for your default key: \`steme trust ${res.agent} <weight>\` signed with it (enough to reach tier trusted: see \`steme trust list\`), or add its key to [trust] pretrusted in the store config`,
      )
    }
    // A source retraction also covers assertions that arrive later: a misspelt source is worth a word.
    if (flags.source !== undefined && res.direct === 0) this.note(`note: no stored assertion cites source "${field(flags.source)}"; it stands, permanently, for any that cite it later (check the spelling with \`steme log --json\`)`)
    return res
  }
}
