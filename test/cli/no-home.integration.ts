import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'

const SEED = 'ab'.repeat(32)

let sb: Sandbox
beforeAll(() => {
  sb = sandbox()
})
afterAll(() => sb.cleanup())

/**
 * A user id with no entry in the password database, as a container run with `--user 1001` has,
 * and no HOME or SHELL: only root can become one (through setpriv).
 */
function homeless(): ((args: string[], env?: NodeJS.ProcessEnv) => {code: number; stdout: string; stderr: string}) | undefined {
  if (process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0) return undefined
  const uid = [54321, 54322, 54323].find((u) => spawnSync('getent', ['passwd', String(u)]).status !== 0)
  if (uid === undefined) return undefined
  const cwd = join(sb.dir, 'work')
  mkdirSync(cwd, {recursive: true})
  chmodSync(sb.dir, 0o755)
  chmodSync(cwd, 0o777)
  return (args, env = {}) => {
    const r = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, BIN, ...args], {
      cwd,
      env: {PATH: process.env.PATH, NO_COLOR: '1', ...env},
      encoding: 'utf8',
    })
    return {code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr}
  }
}

describe('a user with no home directory (no HOME, no passwd entry)', () => {
  it('steme starts; a STEME_KEY seed signs; what needs a key directory says why there is none', (ctx) => {
    const run = homeless()
    if (!run) return ctx.skip()
    // oclif read the home and the shell while loading, and crashed before any command ran.
    const v = run(['--version'])
    expect(v.stderr).toBe('')
    expect(v.code).toBe(0)
    expect(v.stdout).toMatch(/^steme\//)

    const who = run(['whoami', '--json'], {STEME_KEY: SEED})
    expect(who.code, who.stderr).toBe(0)
    expect(JSON.parse(who.stdout).origin).toBe('STEME_KEY')
    expect(run(['init'], {STEME_KEY: SEED}).code).toBe(0)
    const a = run(['assert', 'ci:build', 'status', 'green'], {STEME_KEY: SEED})
    expect(a.code, a.stderr).toBe(0)
    expect(run(['query', 'ci:build', 'status', '--json']).code).toBe(0)

    for (const args of [['keys', 'generate'], ['keys', 'list'], ['whoami']]) {
      const r = run(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toContain('error: there is nowhere to keep signing keys: XDG_CONFIG_HOME is not set, and there is no home directory (HOME is not set, and user id')
      expect(r.stderr).toContain('hint: set XDG_CONFIG_HOME (or HOME)')
      expect(r.stderr).not.toContain('internal error')
    }
    // SSH has no ~/.ssh to read known_hosts from: said before connecting, never read from ./.ssh.
    const pull = run(['pull', 'ssh://someone@127.0.0.1:1/store'], {STEME_KEY: SEED})
    expect(pull.code).toBe(2)
    expect(pull.stderr).toContain('there is no home directory to find ~/.ssh/known_hosts and SSH keys in')
    // With XDG_CONFIG_HOME, keys work without a home.
    const xdg = join(sb.dir, 'work', 'xdg')
    const g = run(['keys', 'generate', '--json'], {XDG_CONFIG_HOME: xdg})
    expect(g.code, g.stderr).toBe(0)
    expect(JSON.parse(g.stdout).path).toBe(join(xdg, 'steme', 'keys', 'default.key'))
  })
})

describe('a relative XDG_CONFIG_HOME', () => {
  it('is ignored, as the XDG spec says: keys go to ~/.config, never into the working directory', () => {
    const cwd = join(sb.dir, 'repo')
    mkdirSync(cwd)
    const r = sb.run(['keys', 'generate', '--json'], {cwd, env: {XDG_CONFIG_HOME: 'cfg'}})
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).path).toBe(join(sb.dir, '.config', 'steme', 'keys', 'default.key'))
    expect(readdirSync(cwd)).toEqual([])
    expect(existsSync(join(sb.dir, '.config', 'steme', 'keys', 'default.key'))).toBe(true)
    const who = sb.run(['whoami', '--json'], {cwd, env: {XDG_CONFIG_HOME: 'cfg'}})
    expect(JSON.parse(who.stdout).agent).toBe(JSON.parse(r.stdout).agent)
  })
})
