import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
beforeAll(() => {
  sb = sandbox()
})
afterAll(() => sb.cleanup())

// oclif reads words after a command without arguments as more of its name ("verify:extra"),
// and reported them in its own style (" ›   Error: command verify:extra not found").
describe('words steme has no command for', () => {
  it.each([
    [['verify', 'extra'], 'Unexpected argument: extra', 'steme verify --help'],
    [['claims', 'list', 'extra', 'more'], 'Unexpected arguments: extra, more', 'steme claims list --help'],
  ])('after a command, are that command\'s unexpected arguments: %j', (args, message, help) => {
    const r = sb.run(args)
    expect(r.stderr).toMatch(new RegExp(`^error: ${message}$`, 'm'))
    expect(r.stderr).toContain(`hint: see \`${help}\``)
    expect(r.stderr).not.toContain('›')
    expect(r.code).toBe(2)
  })

  it.each([
    [['nope'], 'nope', 'steme --help'],
    [['claims', 'nope'], 'claims nope', 'steme claims --help'],
    [['serve', 'token', 'nope'], 'serve token nope', 'steme serve token --help'],
  ])('anywhere else, are an unknown command: %j', (args, name, help) => {
    const r = sb.run(args)
    expect(r.stderr).toBe(`error: unknown command "${name}"\nhint: see \`${help}\` for the commands there are\n`)
    expect(r.code).toBe(2)
  })

  it('with --json, an unknown command is a JSON error too', () => {
    const r = sb.run(['nope', '--json'])
    expect(JSON.parse(r.stdout)).toEqual({error: {code: 'usage', message: 'unknown command "nope"', hint: 'see `steme --help` for the commands there are'}})
    expect(r.code).toBe(2)
  })
})
