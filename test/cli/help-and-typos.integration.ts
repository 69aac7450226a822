import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
beforeAll(() => {
  sb = sandbox()
})
afterAll(() => sb.cleanup())

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

  it('help for a command that is not there: the unknown word, the nearest command, exit 2', () => {
    for (const args of [['help', 'keys', 'lst'], ['keys', 'lst', '--help']]) {
      const r = sb.run(args)
      expect(r.stderr).toBe('error: unknown command "keys lst"; did you mean "keys list"?\nhint: see `steme keys --help` for the commands there are\n')
      expect(r.stdout).toBe('')
      expect(r.code).toBe(2)
    }
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
  ])('%j names the nearest command', (args, message, help) => {
    const r = sb.run(args)
    expect(r.stderr).toBe(`error: ${message}\nhint: see \`${help}\` for the commands there are\n`)
    expect(r.code).toBe(2)
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
})
