import {Args} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {voteOp, type VoteResult} from '../ops/vote.js'

export default class Vote extends StemeCommand {
  static summary = 'Vote an assertion up or down, or withdraw your vote; your latest vote on it counts'
  static examples = ['<%= config.bin %> vote 3f2a...(64 hex) up', '<%= config.bin %> vote 3f2a... withdraw']
  static args = {
    id: Args.string({required: true, description: 'the assertion id (or a unique prefix of it, 6+ hex chars)'}),
    direction: Args.string({required: true, description: 'up, down or withdraw', options: ['up', 'down', 'withdraw']}),
  }

  async run(): Promise<VoteResult> {
    const {args, flags} = await this.parse(Vote)
    const rt = await this.open({store: flags.store})
    const res = await voteOp(rt, {target: args.id, direction: args.direction})
    this.out(res.id)
    return res
  }
}
