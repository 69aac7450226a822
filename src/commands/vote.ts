import {Args} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {KeyStore} from '../keystore.js'
import {DIRECTION_WORDS, voteOp, type VoteResult} from '../ops/vote.js'
import {visible} from '../ui/table.js'

export default class Vote extends StemeCommand {
  static summary = 'Vote an assertion up or down, or withdraw your vote; your latest vote on it counts'
  static description =
    'A vote is a signed record on an assertion: up (1), down (-1) or withdraw (0). Per agent and assertion the latest vote counts, ' +
    'so voting again replaces your vote; nothing is deleted. The votes lens ranks values by their witnesses plus up-voting agents ' +
    'minus down-voting ones (`steme query <subject> --lens votes`; `--explain` names three voters per value, then counts the rest); `steme show <id>` lists the votes on an assertion. ' +
    'Through a daemon (--remote, or the `steme serve` holding this store) the vote is signed here and posted; the notes on a vote ' +
    'that counts for nothing (its target retracted or superseded) are then not given.'
  static examples = ['<%= config.bin %> vote 3f2a9c1b07e4 up', '<%= config.bin %> vote 3f2a9c1b07e4 -1', '<%= config.bin %> vote 3f2a9c1b07e4 withdraw --key bob']
  static args = {
    id: Args.string({required: true, description: 'the assertion id (or a unique prefix of it, 6+ hex chars)'}),
    direction: Args.string({required: true, description: 'up, down or withdraw; or the weight itself: 1, -1 or 0', options: DIRECTION_WORDS}),
  }
  static flags = {key: StemeCommand.keyFlag(), ...StemeCommand.remoteFlags}

  async run(): Promise<VoteResult> {
    const {args, flags} = await this.parse(Vote)
    // Through the daemon that holds this store, or --remote, as assert does: signed here, the record posted.
    const t = await this.target(flags, {keyName: flags.key})
    const deps = t.rt ?? (await t.remote.deps(() => new KeyStore().load(flags.key)))
    const res = await voteOp(deps, {target: args.id, direction: args.direction, checkIdle: t.rt !== undefined})
    this.outStored('vote', res.id)
    for (const w of res.warnings ?? []) this.note(visible(`note: ${w}`))
    return res
  }
}
