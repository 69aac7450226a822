import {Flags} from '@oclif/core'
import {StemeCommand} from '../../command.js'
import {trustListOp, type TrustList} from '../../ops/trust.js'
import {table} from '../../ui/table.js'

export default class TrustListCommand extends StemeCommand {
  static summary = 'List trust scores, tiers and why'
  static description = `Scores follow EigenTrust over endorsements, restarting at your key and the pre-trusted agents of the store config (1.0): the chance a walk from them reaches the agent (a full endorsement 0.85, each further hop 0.85 times its weight).
Tiers: authority (pre-trusted), trusted (>= 0.5), established (>= 0.15), newcomer (below).`
  static examples = ['<%= config.bin %> trust list', '<%= config.bin %> trust list --json', '<%= config.bin %> trust list --as-of 2026-01-01']
  static flags = {'as-of': Flags.string({description: 'scores as the store knew them at this date or hlc'})}

  async run(): Promise<TrustList> {
    const {flags} = await this.parse(TrustListCommand)
    const rt = await this.open({store: flags.store, readOnly: true})
    const res = await trustListOp(rt, {asOf: flags['as-of']})
    if (res.agents.length === 0) this.out('no agents with trust yet (endorse one with `steme trust <agent> <weight>`)')
    else this.out(table(['AGENT', 'SCORE', 'TIER', 'WHY'], res.agents.map((a) => [a.agent.slice(0, 16), a.score.toFixed(3), a.tier, a.why])))
    return res
  }
}
