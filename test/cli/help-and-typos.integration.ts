import {readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {reflow} from '../../src/help.js'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
beforeAll(() => {
  sb = sandbox()
})
afterAll(() => sb.cleanup())

/**
 * `steme <id> --help` at 80 columns (what a pipe gets anyway), run once per command for this file: the
 * wrapping test reads every command's help and the core-commands test reads 21 of them again.
 */
const helps = new Map<string, {code: number; stdout: string}>()
function helpOf(id: string): {code: number; stdout: string} {
  let r = helps.get(id)
  if (!r) helps.set(id, (r = sb.run([...id.split(':'), '--help'], {env: {OCLIF_COLUMNS: '80'}})))
  return r
}

describe('steme help <command>', () => {
  it.each([[['keys', 'generate']], [['init']], [['keys']], [[]]])('prints what --help prints: %j', (words) => {
    const viaFlag = sb.run([...words, '--help'])
    const viaHelp = sb.run(['help', ...words])
    expect(viaFlag.code).toBe(0)
    expect(viaHelp.code).toBe(0)
    expect(viaHelp.stdout).toBe(viaFlag.stdout)
    expect(viaHelp.stdout).toContain('USAGE')
  })

  it('-h is --help, and -v is --version', () => {
    expect(sb.run(['whoami', '-h']).stdout).toBe(sb.run(['whoami', '--help']).stdout)
    const v = sb.run(['-v'])
    expect(v.code).toBe(0)
    expect(v.stdout).toBe(sb.run(['--version']).stdout)
    expect(v.stdout).toMatch(/^steme\/\d+\.\d+\.\d+ /)
  })

  it('help --json is refused as every command without JSON output refuses it: a JSON error, exit 2', () => {
    for (const words of [[], ['keys', 'list']]) {
      const r = sb.run(['help', ...words, '--json'])
      expect(r.code).toBe(2)
      expect(JSON.parse(r.stdout)).toEqual({error: {code: 'usage', message: 'Nonexistent flag: --json; help takes no --json: it prints text for people', hint: `run \`${['steme', 'help', ...words].join(' ')}\` without --json`}})
      expect(r.stderr).toContain('error: Nonexistent flag: --json; help takes no --json')
    }
  })

  it('help for a command that is not there: the unknown word, the nearest command, exit 2', () => {
    for (const args of [['help', 'keys', 'lst'], ['keys', 'lst', '--help']]) {
      const r = sb.run(args)
      expect(r.stderr).toBe('error: unknown command "keys lst"; did you mean "keys list"?\nhint: see `steme keys --help` for the commands there are\n')
      expect(r.stdout).toBe('')
      expect(r.code).toBe(2)
    }
  })
})

describe('--help descriptions', () => {
  const manifest = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}

  it('reflow joins the lines of a paragraph, keeping indented lines, list items and flag lines', () => {
    expect(reflow('one\ntwo (three)\n\nfour\n  grammar | x\n- item\n--as-of is\nend')).toBe('one two (three)\n\nfour\n  grammar | x\n- item\n--as-of is end')
  })

  // oclif wraps each line of a description on its own, so a sentence broken in the source showed
  // as a short line in mid-sentence ("it prints nothing" / "else on stdout"). A line of a paragraph
  // may end early only where the next word would not fit, or before a line meant as a line.
  // Without reflow, 31 such breaks showed in 12 commands.
  it('every command\'s description wraps at the width, not where the source broke it', () => {
    const width = 80
    const short: string[] = []
    for (const id of Object.keys(manifest.commands)) {
      const r = helpOf(id)
      expect(r.code, id).toBe(0)
      const section = r.stdout.split('DESCRIPTION\n')[1]
      if (section === undefined) continue
      const lines = section.split(/\n[A-Z]+\n/)[0].split('\n')
      for (let i = 0; i + 1 < lines.length; i++) {
        const [a, b] = [lines[i], lines[i + 1]]
        // After a colon comes a grammar or a list, whose lines oclif shows unindented.
        if (!a.trim() || a.endsWith(':') || !/^ {2}[a-z(]/.test(b)) continue
        const next = b.trim().split(' ')[0]
        if (a.length + 1 + next.length <= width - 2) short.push(`${id}: "${a.trim()}" / "${b.trim()}"`)
      }
    }
    expect(short).toEqual([])
  })

  // The commands of the README's tour: each says more than its one-line summary, and every example
  // is a command line to copy (oclif prints "$ " only before one that starts with the bin's name,
  // so "cat x | steme ingest -" showed as prose among commands).
  it('the core commands have a description, and every example is a "$ steme" line', () => {
    const core = ['init', 'keys:generate', 'keys:list', 'keys:default', 'whoami', 'assert', 'ingest', 'query', 'show', 'log', 'export', 'stats', 'fsck', 'retract', 'vote', 'trust', 'trust:list', 'epoch', 'conflicts', 'coverage', 'migrate']
    const missing: string[] = []
    const prose: string[] = []
    for (const id of core) {
      const r = helpOf(id)
      expect(r.code, id).toBe(0)
      if (!/^DESCRIPTION\n/m.test(r.stdout)) missing.push(id)
      const examples = r.stdout.split(/^EXAMPLES\n/m)[1]?.split(/\n[A-Z]+\n/)[0] ?? ''
      expect(examples, `${id} has no examples`).not.toBe('')
      for (const line of examples.split('\n')) if (line.trim() && !line.startsWith('  $ steme ')) prose.push(`${id}: ${line.trim()}`)
    }
    expect({missing, prose}).toEqual({missing: [], prose: []})
  })
})

describe('a typo in a command or a flag', () => {
  it.each([
    [['initt'], 'unknown command "initt"; did you mean "init"?', 'steme --help'],
    [['whoam', '--json'], 'unknown command "whoam"; did you mean "whoami"?', 'steme --help'],
    // The words after the unknown one are its arguments, not more of its name.
    [['querry', 'drug:aspirin', 'bleeding_rate'], 'unknown command "querry"; did you mean "query"?', 'steme --help'],
    [['keys', 'generat'], 'unknown command "keys generat"; did you mean "keys generate"?', 'steme keys --help'],
    [['version'], 'unknown command "version"; did you mean --version?', 'steme --help'],
    // The start of a name: what it abbreviates (two at most).
    [['keys', 'gen'], 'unknown command "keys gen"; did you mean "keys generate"?', 'steme keys --help'],
    [['ver'], 'unknown command "ver"; did you mean "verify"?', 'steme --help'],
    [['sy'], 'unknown command "sy"; did you mean "sync" or "sync-serve"?', 'steme --help'],
    [['serve', 'token', 'cr', '--role', 'read'], 'unknown command "serve token cr"; did you mean "serve token create"?', 'steme serve token --help'],
    // serve is a command and a topic: a word after it (it takes no arguments) is a command under it, mistyped.
    [['serve', 'tokens', 'list'], 'unknown command "serve tokens"; did you mean "serve token"?', 'steme serve --help'],
    [['serve', 'tokens', 'create', '--role', 'read'], 'unknown command "serve tokens"; did you mean "serve token"?', 'steme serve --help'],
    // Another tool's word for a steme command: that command, never the nearest spelling ("import" is one edit from "export").
    [['import', 'facts.ndjson'], 'unknown command "import"; did you mean "ingest"?', 'steme --help'],
    [['get', 'drug:aspirin'], 'unknown command "get"; did you mean "query"?', 'steme --help'],
    [['check'], 'unknown command "check"; did you mean "verify" or "fsck"?', 'steme --help'],
  ])('%j names the nearest command', (args, message, help) => {
    const r = sb.run(args)
    expect(r.stderr).toBe(`error: ${message}\nhint: see \`${help}\` for the commands there are\n`)
    expect(r.code).toBe(2)
  })

  // `trust` takes arguments (`trust <agent> <weight>`) and has `trust list` under it: a mistyped
  // `list` was read as an agent, and the error was about the missing weight.
  it.each([
    [['trust', 'lis'], 'trust lis'],
    [['trust', 'lsit', '0.5'], 'trust lsit'],
    [['trust', '--key', 'bob', 'lis'], 'trust lis'],
    [['trust', 'li'], 'trust li'],
  ])('%j, a word no agent key can be, names the command under trust', (args, name) => {
    const r = sb.run(args)
    expect(r.stderr).toBe(`error: unknown command "${name}"; did you mean "trust list"?\nhint: see \`steme trust --help\` for the commands there are; \`steme trust\` itself takes an agent key and a weight: \`trust <agent> <weight>\`\n`)
    expect(r.stdout).toBe('')
    expect(r.code).toBe(2)
    const j = sb.run([...args, '--json'])
    expect(j.code).toBe(2)
    expect(JSON.parse(j.stdout).error.message).toBe(`unknown command "${name}"; did you mean "trust list"?`)
  })

  it('trust with a hex word, or one near no command under trust, is still read as an agent', () => {
    // A key cut short (hex), as tables print keys: the missing weight, as before.
    for (const word of ['8139770ea87d', 'abc', 'nope']) {
      const r = sb.run(['trust', word])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^error: Missing 1 required arg:\nweight /)
    }
    const r = sb.run(['trust', 'nope', '0.5'])
    expect(r.code).toBe(2)
    expect(r.stderr).not.toContain('did you mean')
  })

  it('a flag before the command is said as that, with the command line put in order', () => {
    const cases: Array<[string[], string]> = [
      [['--store', 'team', 'stats'], 'steme stats --store team'],
      [['--json', 'keys', 'list'], 'steme keys list --json'],
      // A word right after a flag may be its value: a later word naming a command is the command.
      [['--store', 'log', 'query', 'drug:aspirin'], 'steme query --store log drug:aspirin'],
      [['--verbose'], 'steme <command> --verbose` (see `steme --help` for the commands there are)'],
    ]
    for (const [args, fixed] of cases) {
      const r = sb.run(args)
      expect({args, code: r.code, stderr: r.stderr}).toEqual({args, code: 2, stderr: `error: ${args[0]} comes before the command: flags go after it\nhint: run \`${fixed.includes('`') ? fixed : fixed + '`'}\n`})
    }
    // --json first asks for JSON: the error is JSON too.
    const j = sb.run(['--json', 'stats'])
    expect(JSON.parse(j.stdout)).toEqual({error: {code: 'usage', message: '--json comes before the command: flags go after it', hint: 'run `steme stats --json`'}})
  })

  it('a flag before the command never echoes the password or token of a URL in it', () => {
    // The hint puts the command line in order; a CI log of it must not hold the secret typed in it.
    const cases: Array<[string[], string]> = [
      [['--store', 'postgres://ci:s3cretpw@db.example/team', 'stats'], 'steme stats --store postgres://ci:***@db.example/team'],
      [['--store=postgres://ci:s3cretpw@db.example/team', 'stats', '--json'], 'steme stats --store=postgres://ci:***@db.example/team --json'],
      [['--remote', 'https://tok3nvalue@steme.example', 'query', 'x'], 'steme query --remote https://***@steme.example x'],
    ]
    for (const [args, fixed] of cases) {
      const r = sb.run(args)
      expect(r.code).toBe(2)
      const said = r.stderr + r.stdout
      expect(said).not.toMatch(/s3cretpw|tok3nvalue/)
      expect(r.stderr).toContain(`hint: run \`${fixed}\`\n`)
      expect(r.stderr).toMatch(/^error: --(store|remote)\S* comes before the command/)
    }
  })

  it('a word near no command gets no guess', () => {
    expect(sb.run(['nope']).stderr).toBe('error: unknown command "nope"\nhint: see `steme --help` for the commands there are\n')
  })

  it('an unknown flag names the nearest flag of that command, once, and is a JSON error with --json', () => {
    const r = sb.run(['keys', 'generate', '--nme', 'ci'])
    expect(r.stderr).toBe('error: Nonexistent flag: --nme; did you mean --name?\nhint: see `steme keys generate --help`\n')
    expect(r.code).toBe(2)
    const j = sb.run(['whoami', '--kye', 'ci', '--json'])
    expect(JSON.parse(j.stdout)).toEqual({error: {code: 'usage', message: 'Nonexistent flag: --kye; did you mean --key?', hint: 'see `steme whoami --help`'}})
    expect(j.code).toBe(2)
    // Nothing was made on the way.
    expect(sb.run(['keys', 'list', '--json']).stdout).toContain('"keys": []')
  })

  it('--json on export says its output is JSON already, and where records are one JSON document', () => {
    const r = sb.run(['export', '--json'])
    expect(r.stderr).toBe(
      'error: Nonexistent flag: --json; export takes no --json: it writes signed NDJSON, one JSON record per line, already (`steme log --json` gives records as one JSON document)\nhint: see `steme export --help`\n',
    )
    expect(r.stdout).toBe('')
    expect(r.code).toBe(2)
  })

  it('--remote on a command that cannot go through a daemon names those that can', () => {
    const r = sb.run(['fsck', '--remote', 'http://127.0.0.1:9'])
    expect(r.stderr).toBe(
      'error: Nonexistent flag: --remote; fsck does not go through a daemon (those that do: assert, conflicts, epoch, ingest, log, query, retract, show, stats, trust, verify, vote)\nhint: see `steme fsck --help`\n',
    )
    expect(r.code).toBe(2)
  })

  it('an argument outside its choices is named, with the value typed', () => {
    const r = sb.run(['vote', 'abcdef', 'sideways'])
    expect(r.stderr).toBe('error: direction must be one of: up, down, withdraw, 1, -1, 0; got "sideways"\nhint: see `steme vote --help`\n')
    expect(r.code).toBe(2)
  })

  it('a flag value its parser refuses is one line naming the flag, exit 2', () => {
    const r = sb.run(['log', '-n', 'abc'])
    expect(r.stderr).toBe('error: --limit: expected an integer but received: abc\nhint: see `steme log --help`\n')
    expect(r.code).toBe(2)
    const j = sb.run(['conflicts', '--limit', '0', '--json'])
    expect(JSON.parse(j.stdout).error.message).toBe('--limit: expected an integer greater than or equal to 1 but received: 0')
    expect(j.code).toBe(2)
  })
})
