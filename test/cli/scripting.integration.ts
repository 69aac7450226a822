/** What a shell script captures from steme: `$(steme ...)` gives the value itself, and `set -e` stops where steme failed. */
import {spawnSync} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
beforeAll(() => {
  sb = sandbox('steme-script-')
  expect(sb.run(['init', '--dir', sb.dir]).code).toBe(0)
  expect(sb.run(['keys', 'generate', '--name', 'ci']).code).toBe(0)
})
afterAll(() => sb.cleanup())

/** Run a bash script with `steme` on hand as a function, set -e on, stdout a pipe as in CI. */
function bash(script: string): {code: number | null; stdout: string; stderr: string} {
  const r = spawnSync('bash', ['-c', `set -euo pipefail; steme() { "${process.execPath}" "${BIN}" "$@"; }\n${script}`], {cwd: sb.dir, env: sb.env, encoding: 'utf8'})
  return {code: r.status, stdout: r.stdout, stderr: r.stderr}
}

describe('whoami in a script', () => {
  it('stdout is the agent id alone, so "$(steme whoami)" passes the key as one argument; which key it is goes to stderr', () => {
    const agent = sb.json<{agent: string}>(['whoami', '--key', 'ci']).agent
    const r = sb.run(['whoami', '--key', 'ci'])
    expect({code: r.code, stdout: r.stdout}).toEqual({code: 0, stdout: `${agent}\n`})
    expect(r.stderr).toMatch(/^key "ci" \(.*ci\.key\)\n$/)
    // As `steme whoami --help` shows it.
    const trusted = bash('steme trust "$(steme whoami --key ci)" 0.8 >/dev/null\nsteme trust list --json')
    expect(trusted.code, trusted.stderr).toBe(0)
    expect(JSON.parse(trusted.stdout).agents).toEqual(expect.arrayContaining([expect.objectContaining({agent, score: expect.any(Number)})]))
  })
})
