/** Subjects typed as users may type them: '' (an unset shell variable, most often) is a usage error, * is not a wildcard. */
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

  it('a subject with * or ? that finds nothing: a note that subjects match exactly, on stderr; stdout and exit as before', () => {
    const note = 'note: a subject is matched exactly, so * and ? in it are not wildcards; `steme log` lists the records stored, with their subjects\n'
    for (const args of [['query', 'drug:*'], ['log', 'drug:aspirin?'], ['query', 'drug:*', '--json']]) {
      const r = sb.run(args)
      expect({args, code: r.code, stderr: r.stderr}).toEqual({args, code: 0, stderr: note})
    }
    expect(sb.run(['query', 'drug:*']).stdout).toBe('no assertions about drug:*\n')
    // A subject without them, or one that finds records, gets no such note.
    expect(sb.run(['query', 'drug']).stderr).toBe('')
    expect(sb.run(['assert', 'what?', 'p', '1']).code).toBe(0)
    expect(sb.run(['query', 'what?']).stderr).toBe('')
  })
})
