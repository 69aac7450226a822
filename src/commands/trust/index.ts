import {Args} from '@oclif/core'
import {StemeCommand} from '../../command.js'
import {trustOp} from '../../ops/trust.js'

export default class Trust extends StemeCommand {
  static summary = 'Endorse an agent with a weight in [0, 1] (0 withdraws); scores follow EigenTrust from your key'
  static description =
    'An endorsement is a signed record: your key trusts another agent with a weight in [0, 1]; 0 withdraws it, and your latest one counts. ' +
    "Scores follow the endorsements from the store's own key and the pre-trusted agents ([trust] pretrusted in config.toml): a full " +
    'endorsement gives 0.85, each further hop less; endorsements summing to more than 1 count for their shares, and a note says when ' +
    'an endorsement (or withdrawing one) drops anyone below trusted or raises anyone to it. Tiers (trusted from 0.5, established from 0.15) decide whose retractions and epochs ' +
    'count here, and the trust lens weighs values by them (docs/lenses.md, Trust). The agent is the whole 64-hex key: `steme whoami` ' +
    'prints yours, `steme trust list --json` and `steme log --json` print others.'
  static examples = ['<%= config.bin %> trust 9c1e...(64 hex agent key) 0.8', '<%= config.bin %> trust 9c1e... 0.5 --key bob', '<%= config.bin %> trust list']
  static args = {
    agent: Args.string({required: true, description: "the agent's public key (64 hex)"}),
    weight: Args.string({required: true, description: 'how much you trust it, a number in [0, 1]'}),
  }
  static flags = {key: StemeCommand.keyFlag()}

  async run(): Promise<{id: string; target: string; weight: number; warnings?: string[]}> {
    const {args, flags} = await this.parse(Trust)
    const rt = await this.open({store: flags.store, keyName: flags.key})
    const res = await trustOp(rt, {agent: args.agent, weight: args.weight})
    for (const w of res.warnings ?? []) this.note(`note: ${w}`)
    this.out(res.id)
    return res
  }
}
