import {Args} from '@oclif/core'
import {StemeCommand} from '../../command.js'
import {KeyStore} from '../../keystore.js'
import {trustOp} from '../../ops/trust.js'
import {commandUnderTopic} from '../../unknown-command.js'

/** An agent is a hex key (a prefix of one is a key cut short, said as that by trustOp): any other word may be `trust list` mistyped. */
const agentLike = (word: string) => /^[0-9a-f]+$/i.test(word)

export default class Trust extends StemeCommand {
  static summary = 'Endorse an agent with a weight in [0, 1] (0 withdraws); scores follow EigenTrust from your key'
  static description =
    'An endorsement is a signed record: your key trusts another agent with a weight in [0, 1]; 0 withdraws it, and your latest one counts. ' +
    "Scores follow the endorsements from the store's own key and the pre-trusted agents ([trust] pretrusted in config.toml): a full " +
    'endorsement gives 0.85, each further hop less; endorsements summing to more than 1 count for their shares, and a note says when ' +
    'an endorsement (or withdrawing one) drops anyone below trusted or raises anyone to it. Tiers (trusted from 0.5, established from 0.15) decide whose retractions and epochs ' +
    'count here, and the trust lens weighs values by them (docs/lenses.md, Trust). The agent is the whole 64-hex key: `steme whoami` ' +
    'prints yours, `steme trust list --json` and `steme log --json` print others. ' +
    'Through a daemon (--remote, or the `steme serve` holding this store) the endorsement is signed here and posted; whether it drops or raises ' +
    "anyone's tier is then not checked (`steme trust list` on the store itself, with the daemon stopped, shows the scores)."
  static examples = ['<%= config.bin %> trust 9c1e...(64 hex agent key) 0.8', '<%= config.bin %> trust 9c1e... 0.5 --key bob', '<%= config.bin %> trust list']
  static args = {
    agent: Args.string({required: true, description: "the agent's public key (64 hex)"}),
    weight: Args.string({required: true, description: 'how much you trust it, a number in [0, 1]'}),
  }
  static flags = {key: StemeCommand.keyFlag(), ...StemeCommand.remoteFlags}

  async run(): Promise<{id: string; target: string; weight: number; warnings?: string[]}> {
    // `trust lis` reads `lis` as the agent: a word no agent key can be, near a command under
    // `trust`, is that command mistyped, said so before the missing weight or a store is.
    const typo = (agent: unknown) => commandUnderTopic(this.config, 'trust', typeof agent === 'string' ? agent : undefined, agentLike, 'an agent key and a weight: `trust <agent> <weight>`')
    const {args, flags} = await this.parse(Trust).catch((e: unknown) => {
      throw typo((e as {parse?: {output?: {args?: {agent?: unknown}}}}).parse?.output?.args?.agent) ?? e
    })
    const err = typo(args.agent)
    if (err) throw err
    // Through the daemon that holds this store, or --remote, as assert and vote do: signed here, the record posted.
    const t = await this.target(flags, {keyName: flags.key})
    const deps = t.rt ?? (await t.remote.deps(() => new KeyStore().load(flags.key)))
    const res = await trustOp(deps, {agent: args.agent, weight: args.weight, checkTiers: t.rt !== undefined})
    for (const w of res.warnings ?? []) this.note(`note: ${w}`)
    if (t.remote) this.note("note: through steme serve: whether this endorsement drops or raises anyone's tier is not checked here; `steme trust list` on the store itself shows the scores")
    this.outStored('trust record', res.id)
    return res
  }
}
