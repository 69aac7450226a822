import {Flags} from '@oclif/core'
import {StemeCommand} from '../../command.js'
import {COMPARISONS, SEVERITIES, SOURCES} from '../../claims/file.js'
import {UserError} from '../../core/errors.js'
import {claimsAddOp, parseExpect, type ClaimsAddResult} from '../../ops/claims-add.js'

export default class ClaimsAdd extends StemeCommand {
  static baseFlags = StemeCommand.storelessFlags
  static summary = 'Add a claim to .steme/claims.toml, by flags or interactively'
  static description = `Missing fields are asked for when stdin is a terminal; otherwise --id, --subject and --predicate (and --expect, which present/absent do not take) are required. --expect is parsed as JSON when it is JSON (true, 1.3, ["a","b"], {"a":1}), else kept as a string; a number JSON would change (20.10 would be read as 20.1) is kept as the text typed, with a note, and null is refused (TOML has none). The claim is appended once the file as it will be passes the checks verify makes (a duplicate id or an unknown lens is refused, exit 2, and the file is left unchanged); the rest of the file is left as it is.`
  static examples = [
    '<%= config.bin %> claims add',
    '<%= config.bin %> claims add --id tsconfig-strict --subject repo:tsconfig --predicate compilerOptions.strict --expect true --why "strict mode catches null bugs"',
    '<%= config.bin %> claims add --id node-20 --subject repo:node --predicate version --compare gte --expect 20 --severity warn',
  ]
  static flags = {
    claims: Flags.string({description: 'claims file (default: .steme/claims.toml at the repo root)'}),
    id: Flags.string({description: 'stable id; baselines and reports key on it'}),
    subject: Flags.string({description: 'what the claim is about, e.g. repo:tsconfig'}),
    predicate: Flags.string({description: 'the property, e.g. compilerOptions.strict'}),
    expect: Flags.string({description: 'the expected value (JSON, or a plain string)'}),
    compare: Flags.string({description: 'how to compare', options: [...COMPARISONS], default: 'eq'}),
    severity: Flags.string({description: 'error blocks commits, warn only reports', options: [...SEVERITIES], default: 'error'}),
    why: Flags.string({description: 'the rationale, shown when the claim fails'}),
    lens: Flags.string({description: 'lens for store observations (default recency)'}),
    from: Flags.string({description: 'where observations come from', options: [...SOURCES]}),
  }

  async run(): Promise<ClaimsAddResult> {
    const {flags} = await this.parse(ClaimsAdd)
    const f = {...flags}
    const needsExpect = f.compare !== 'present' && f.compare !== 'absent'
    const required: Array<'id' | 'subject' | 'predicate' | 'expect'> = ['id', 'subject', 'predicate', ...(needsExpect ? (['expect'] as const) : [])]
    const missing = required.filter((k) => !f[k])
    if (missing.length) {
      if (!process.stdin.isTTY) throw new UserError(`missing ${missing.map((m) => `--${m}`).join(', ')}`, {hint: 'pass them as flags, or run `steme claims add` in a terminal to be asked'})
      const {createInterface} = await import('node:readline/promises')
      const rl = createInterface({input: process.stdin, output: process.stderr})
      try {
        for (const k of missing) {
          let answer = ''
          while (!answer) answer = (await rl.question(`${k}: `)).trim()
          f[k] = answer
        }
        if (!f.why) f.why = (await rl.question('why (optional): ')).trim() || undefined
      } finally {
        rl.close()
      }
    }
    const expect = f.expect === undefined ? undefined : parseExpect(f.expect)
    if (expect?.note) this.note(`note: ${expect.note}`)
    const res = await claimsAddOp({
      cwd: process.cwd(),
      claims: f.claims,
      id: f.id!,
      subject: f.subject!,
      predicate: f.predicate!,
      expect: expect?.value,
      compare: f.compare === 'eq' ? undefined : f.compare,
      severity: f.severity === 'error' ? undefined : f.severity,
      why: f.why,
      lens: f.lens,
      from: f.from,
    })
    this.out(`${res.created ? 'Created' : 'Added to'} ${res.path}:\n\n${res.block}`)
    if (res.ignored) {
      this.note(`warning: git ignores ${res.ignored.path} (${res.ignored.rule}), so no commit holds these claims and the hook checks a copy only this clone has: \`git add -f ${res.ignored.path}\`, and narrow that rule to steme's database (.steme/store.duckdb*)`)
    }
    return res
  }
}
