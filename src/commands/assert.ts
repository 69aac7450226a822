import {Args, Flags} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {KeyStore} from '../keystore.js'
import {assertOp, inexactNumber, type AssertResult} from '../ops/assert.js'

export default class Assert extends StemeCommand {
  static summary = 'Record an assertion signed by your key; prints its id'
  static description = `The value is parsed as JSON when it is JSON (42, true, {"a":1}, "quoted"), else kept as a string.
Nothing is ever overwritten: a new assertion coexists with older ones and a lens decides at query time.`
  static examples = [
    '<%= config.bin %> assert drug:aspirin bleeding_rate 0.002 --confidence 0.9 --source fda:label-2024',
    '<%= config.bin %> assert service:api tls_min_version 1.3 --valid-from 2026-01-01',
    '<%= config.bin %> assert drug:aspirin bleeding_rate 0.003 --supersedes <id>',
  ]
  static args = {
    subject: Args.string({required: true, description: 'what the assertion is about, e.g. drug:aspirin'}),
    predicate: Args.string({required: true, description: 'the property, e.g. bleeding_rate'}),
    value: Args.string({required: true, description: 'the value (JSON, or a plain string)'}),
  }
  static flags = {
    confidence: Flags.string({char: 'c', description: 'how sure the source is, a number in [0, 1]', default: '1'}),
    source: Flags.string({char: 's', description: 'where it comes from, e.g. doi:10.1/x or url:https://...'}),
    epoch: Flags.string({description: 'the named epoch it belongs to'}),
    evidence: Flags.string({description: 'id (or unique prefix) of a record this one is derived from (repeatable)', multiple: true}),
    supersedes: Flags.string({description: 'id (or unique prefix) of your own earlier assertion that this one replaces (repeatable); it drops out of the answers about its own subject and predicate', multiple: true}),
    'valid-from': Flags.string({description: 'when the value starts to hold in the world (ISO-8601)'}),
    'valid-to': Flags.string({description: 'when it stops holding (ISO-8601)'}),
    key: Flags.string({description: 'name of the key to sign with (default: STEME_KEY or your default key)'}),
    ...StemeCommand.remoteFlags,
  }

  async run(): Promise<AssertResult> {
    const {args, flags} = await this.parse(Assert)
    const confidence = Number(flags.confidence)
    if (flags.confidence.trim() === '' || !(confidence >= 0 && confidence <= 1)) {
      this.error(`--confidence must be a number in [0, 1], got "${flags.confidence}"`, {exit: 2})
    }
    const t = await this.target(flags, {keyName: flags.key})
    const deps = t.rt ?? (await t.remote.deps(() => new KeyStore().load(flags.key)))
    const res = await assertOp(deps, {
      subject: args.subject,
      predicate: args.predicate,
      value: args.value,
      confidence,
      source: flags.source,
      epoch: flags.epoch,
      evidence: flags.evidence,
      supersedes: flags.supersedes,
      validFrom: flags['valid-from'],
      validTo: flags['valid-to'],
    })
    if (inexactNumber(args.value)) this.note(`note: ${args.value} is a number JSON cannot hold exactly (integers beyond 2^53, or out of range), so it was stored as the string "${args.value}"`)
    for (const w of res.warnings ?? []) this.note(`note: ${w}`)
    this.out(res.id)
    return res
  }
}
