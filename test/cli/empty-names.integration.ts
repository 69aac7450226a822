/** A subject or predicate typed as '' (an unset shell variable, most often) is a usage error, not an empty answer. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

describe("query, log and export --subject given ''", () => {
  let sb: Sandbox
  beforeAll(() => {
    sb = sandbox()
    expect(sb.run(['init']).code).toBe(0)
    expect(sb.run(['assert', 'drug:aspirin', 'dose', '75']).code).toBe(0)
  })
  afterAll(() => sb.cleanup())

  it('exit 2, saying which is empty and what to give, and nothing on stdout (a JSON error with --json)', () => {
    for (const [args, what] of [
      [['query', ''], 'subject'],
      [['query', 'drug:aspirin', ''], 'predicate'],
      [['log', ''], 'subject'],
      [['export', '--subject', ''], '--subject'],
      [['export', '--subject', '', '-o', 'out.ndjson'], '--subject'],
    ] as const) {
      const r = sb.run([...args])
      expect({args, code: r.code, stdout: r.stdout}).toEqual({args, code: 2, stdout: ''})
      expect(r.stderr).toMatch(new RegExp(`^error: ${what} is empty: no record has an empty ${what.replace('--', '')}, so there would be nothing to find\\nhint: name one, as in \`steme `))
    }
    const json = sb.run(['query', '', '--json'])
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout)).toMatchObject({error: {code: 'usage', message: expect.stringMatching(/^subject is empty/)}})
    // What is there is still answered.
    expect(sb.run(['query', 'drug:aspirin', 'dose']).stdout).toContain('75')
  })
})
