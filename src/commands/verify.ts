import {Flags} from '@oclif/core'
import {SELF_IN_LENS, StemeCommand} from '../command.js'
import {UserError} from '../core/errors.js'
import {KeyStore} from '../keystore.js'
import type {Deps} from '../ops/deps.js'
import {renderJunit, renderSarif, renderTable} from '../claims/report.js'
import {lazyStore, verifyOp, type StoreDeps, type VerifyResult} from '../ops/verify.js'
import {table} from '../ui/table.js'
import {colorOn} from '../ui/color.js'
import {plural} from '../core/words.js'

export default class Verify extends StemeCommand {
  static summary = 'Check the repo\'s claims (.steme/claims.toml) against its files and the store'
  static description = `Each claim is PASS, CONFLICT (the observed value violates it: expected vs observed, and where), MISSING (nothing observed) or UNCHECKED (a regex bearing on it, an extractor feeding it or its matches pattern, was stopped at settings.regex_timeout_ms or failed). Exit 1 when an error claim fails (with --fail-on-warn, a warn claim too), 0 otherwise, 2 when the claims file is missing or broken. --staged reads what is being committed (the git index), as the pre-commit hook does: the files, the claims file and the baseline, each from the index when it holds them. A claims file the commit deletes (in the last commit, not in the index) is an error (exit 2), whatever copy the working tree keeps. The store is opened only when a claim has no observation in the files (or sets from = "store").

A claim's lens resolves what the store says. ${SELF_IN_LENS}`
  static examples = [
    '<%= config.bin %> verify',
    '<%= config.bin %> verify --staged',
    '<%= config.bin %> verify --format sarif > steme.sarif',
    '<%= config.bin %> verify --update-baseline',
    '<%= config.bin %> verify --baseline .steme/claims-baseline.json --fail-on-warn',
  ]
  static flags = {
    claims: Flags.string({description: 'claims file (default: .steme/claims.toml at the repo root)'}),
    staged: Flags.boolean({description: 'read file contents, the claims file and the baseline from the git index (what is being committed), not the working tree'}),
    format: Flags.string({description: 'output format (--json is --format json)', options: ['table', 'json', 'sarif', 'junit'], default: 'table'}),
    'fail-on-warn': Flags.boolean({description: 'exit 1 when a warn claim fails too'}),
    baseline: Flags.string({description: 'accept the failures recorded in this file; fail only on new ones (default: .steme/claims-baseline.json when it exists). With --staged, the copy in the index; one the index deletes is not used'}),
    'update-baseline': Flags.boolean({description: 'write the current failures to the baseline file and exit 0 (1 when a claim could not be checked: that is no failure to accept). With --staged, the failures of the staged content, written to the working tree: `git add` it for the commit to hold it'}),
    cache: Flags.boolean({description: 'with --staged, reuse what the extractors saw in files unchanged since the last run (kept in the git directory)', default: true, allowNo: true}),
    record: Flags.boolean({description: 'store the observations and verdicts as assertions signed by your key'}),
    key: StemeCommand.keyFlag('the key to sign with, for --record'),
    ...StemeCommand.remoteFlags,
  }

  async run(): Promise<VerifyResult> {
    const {flags, metadata} = await this.parse(Verify)
    const format = this.jsonEnabled() ? jsonFormat(flags.format, !metadata.flags.format?.setFromDefault, this.argv.includes('--json')) : flags.format
    // The store opens at most once, and only when a claim needs it (or --record): DuckDB costs ~190 ms to load.
    // With a daemon (--remote, or the one holding this store), it judges the claims against its store (POST /v1/verify)
    // and --record posts the records signed here.
    const open = async (root: string): Promise<Deps & StoreDeps> => {
      const t = await this.target(flags, {cwd: root, readOnly: !flags.record, keyName: flags.key})
      if (t.rt) return t.rt
      const deps = await t.remote.deps(() => new KeyStore().load(flags.key))
      return {...deps, verify: (req) => t.remote.verify(req)}
    }
    let opened: Promise<Deps & StoreDeps> | undefined
    const openStore = (flags.remote ?? process.env.STEME_REMOTE) ? (root: string) => (opened ??= open(root)) : lazyStore(flags.store, process.env, open)
    const res = await verifyOp({openStore}, {
      cwd: process.cwd(),
      claims: flags.claims,
      staged: flags.staged,
      baseline: flags.baseline,
      updateBaseline: flags['update-baseline'],
      failOnWarn: flags['fail-on-warn'],
      cache: flags.cache,
    })
    if (flags.record) {
      const rt = await openStore(res.root)
      if (!rt) throw new UserError('--record needs a store, and this repo has none', {code: 'no_store', hint: 'run `steme init` at the repo root, or pass --store'})
      const {recordVerifyOp} = await import('../ops/record-verify.js')
      const rec = await recordVerifyOp(rt, res)
      this.note(`recorded ${plural(rec.observations, 'observation')} and ${plural(rec.verdicts, 'verdict')} in ${rt.store.location}`)
    }
    for (const w of res.warnings) this.note(`warning: ${w}`)
    const binary = res.skipped.filter((s) => s.reason === 'binary').length
    if (binary && format === 'table') this.note(`note: skipped ${plural(binary, 'binary file')}`)
    if (res.store === 'used' && format === 'table') this.note('note: some claims were checked against the store')
    if (!res.ok) process.exitCode = 1
    const {observations: _omit, ...report} = res
    if (format === 'sarif') process.stdout.write(renderSarif(res, this.config.version))
    else if (format === 'junit') process.stdout.write(renderJunit(res))
    else if (format === 'json') {
      if (!this.jsonEnabled()) process.stdout.write(JSON.stringify(report, null, 2) + '\n')
    } else process.stdout.write(renderTable(res, {color: colorOn(), table}))
    return report
  }
}

const FORMAT_NAMES: Record<string, string> = {table: 'a table', json: 'the JSON report', sarif: 'SARIF', junit: 'JUnit XML'}

/**
 * --json (or STEME_CONTENT_TYPE=json) is --format json. oclif's `exclusive` would refuse the harmless
 * `--json --format json` too, and miss the variable: another --format given with them is refused here,
 * since one of the two outputs would be dropped without a word.
 */
function jsonFormat(format: string, given: boolean, flag: boolean): 'json' {
  if (!given || format === 'json') return 'json'
  const want = FORMAT_NAMES[format] ?? format
  if (flag) {
    throw new UserError(`--json and --format ${format} ask for different outputs: --json is --format json`, {code: 'usage', hint: `drop --json to get ${want}, or --format ${format} to get the JSON report`})
  }
  throw new UserError(`STEME_CONTENT_TYPE=json asks for the JSON report and --format ${format} for ${want}`, {code: 'usage', hint: `unset STEME_CONTENT_TYPE for this run (env -u STEME_CONTENT_TYPE steme verify --format ${format}), or drop --format ${format}`})
}
