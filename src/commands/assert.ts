import {Args, Flags} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {UserError} from '../core/errors.js'
import {KeyStore} from '../keystore.js'
import {parseDate} from '../core/hlc.js'
import {assertOp, parseTypedValue, typedName, type AssertResult} from '../ops/assert.js'
import {hasRecords, sameLookingNotes} from '../ops/log.js'
import {field, visible} from '../ui/table.js'
import {unitNumber} from '../core/text.js'
import {unknownEpoch} from '../lenses/epochs.js'
import type {Epoch} from '../core/record.js'

export default class Assert extends StemeCommand {
  static summary = 'Record an assertion signed by your key; prints its id'
  static description = `The value is parsed as JSON when it is JSON (42, true, {"a":1}, "quoted"), else kept as a string.
A number is stored in its JSON form (1.10 as 1.1, with a note; --string keeps the text). A number JSON cannot hold as typed
(an integer past 2^53, 1e400, 1e-400) would change value, so it is kept as the text, with a note.
Text that starts like JSON ({, [ or ") but does not parse, a key given twice, and null are refused; --string stores the text as it is.
Subject, predicate, --source and --epoch are stored in Unicode NFC (so "café" is one subject however its accent was typed)
and may not hold control characters.
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
    evidence: Flags.string({description: 'id (or unique prefix) of a record this one is derived from (repeatable)', multiple: true, multipleNonGreedy: true}),
    supersedes: Flags.string({description: 'id (or unique prefix) of your own earlier assertion that this one replaces (repeatable); it drops out of the answers about its own subject and predicate', multiple: true, multipleNonGreedy: true}),
    'valid-from': Flags.string({description: 'when the value starts to hold in the world (ISO-8601)'}),
    'valid-to': Flags.string({description: 'when it stops holding (ISO-8601)'}),
    string: Flags.boolean({description: 'store the value as this text, a plain string, without reading it as JSON'}),
    key: StemeCommand.keyFlag(),
    ...StemeCommand.remoteFlags,
  }

  async run(): Promise<AssertResult> {
    const {args, flags} = await this.parse(Assert)
    const confidence = unitNumber(flags.confidence)
    if (confidence === undefined) this.error(`--confidence must be a decimal number in [0, 1] such as 0.9, got "${field(flags.confidence)}"`, {exit: 2})
    checkRange(flags['valid-from'], flags['valid-to'])
    const notes: string[] = []
    const name = (what: string, text: string | undefined) => {
      if (text === undefined) return undefined
      const typed = typedName(what, text)
      if (typed.note) notes.push(typed.note)
      return typed.text
    }
    const subject = name('subject', args.subject)!
    const predicate = name('predicate', args.predicate)!
    const source = name('source', flags.source)
    const epoch = name('epoch', flags.epoch)
    const value = flags.string ? {value: args.value, notes: []} : parseTypedValue(args.value)
    const t = await this.target(flags, {keyName: flags.key})
    const deps = t.rt ?? (await t.remote.deps(() => new KeyStore().load(flags.key)))
    const res = await assertOp(deps, {
      subject,
      predicate,
      value: value.value,
      confidence,
      source,
      epoch,
      evidence: flags.evidence,
      supersedes: flags.supersedes,
      validFrom: flags['valid-from'],
      validTo: flags['valid-to'],
      checkRetracted: t.rt !== undefined,
    })
    // A typo in --epoch is not refused: the epoch's record may arrive later by sync. Only a store
    // opened here can say which epochs it knows; a daemon is not asked.
    const epochNote = epoch !== undefined && t.rt ? unknownEpoch(epoch, (await t.rt.store.ofKinds(['epoch'])) as Epoch[]) : undefined
    if (epochNote) notes.push(`${epochNote}; stored as given, and epoch-aware lenses place it by its date until such a record arrives`)
    const split = await sameLookingNotes(subject, hasRecords(t))
    for (const w of [...notes, ...value.notes, ...(res.warnings ?? []), ...split]) this.note(visible(`note: ${w}`))
    this.outStored('assertion', res.id)
    return res
  }
}

/**
 * A valid range that holds at no time is refused: `to` is the first moment the value no longer
 * holds (query --valid-at), so from = to is empty. (from after to is refused by the record check.)
 */
function checkRange(from: string | undefined, to: string | undefined): void {
  if (from === undefined || to === undefined) return
  const f = parseDate(from)
  if (Number.isNaN(f) || f !== parseDate(to)) return
  throw new UserError(`--valid-from and --valid-to are the same moment (${from}, ${to}): the range is empty, since --valid-to is when the value stops holding`, {
    hint: 'for a value that held on one day, pass the next day as --valid-to (--valid-from 2024-01-01 --valid-to 2024-01-02)',
  })
}
