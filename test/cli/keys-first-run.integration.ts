import {spawnSync} from 'node:child_process'
import {chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
let keys: string
beforeEach(() => {
  sb = sandbox()
  keys = join(sb.dir, 'xdg', 'steme', 'keys')
})
afterEach(() => sb.cleanup())

const agentOf = (args: string[]): string => sb.json<{agent: string}>(args).agent

describe('keys list', () => {
  it('prints each public key and key file whole, to copy from', () => {
    const made = sb.json<{agent: string; path: string}>(['keys', 'generate'])
    const r = sb.run(['keys', 'list'])
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n')[1].split(/\s+/)).toEqual(['default', made.agent, 'yes', made.path])
  })
})

describe('keys but no default', () => {
  it('key files copied without their DEFAULT: the one named "default" is the default, and init makes no other', () => {
    expect(sb.run(['keys', 'generate']).code).toBe(0)
    const agent = agentOf(['whoami'])
    rmSync(join(keys, 'DEFAULT'))
    const r = sb.run(['init'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`Signing as ${agent}`)
    expect(readdirSync(keys)).toEqual(['default.key'])
    expect(agentOf(['whoami'])).toBe(agent)
    expect(sb.run(['keys', 'list']).stdout).toMatch(/^default +[0-9a-f]{64} +yes /m)
  })

  it('two keys and none the default: init makes the store and says so, whoami names them, keys default picks one', () => {
    sb.run(['keys', 'generate', '--name', 'laptop'])
    sb.run(['keys', 'generate', '--name', 'ci'])
    rmSync(join(keys, 'DEFAULT'))
    const init = sb.run(['init'])
    expect(init.code).toBe(0)
    expect(init.stdout).toContain('Created')
    expect(init.stderr).toBe(
      'note: the store is ready, but there is no key to sign with yet: STEME_KEY is not set, and none of your 2 keys (ci, laptop) is the default\n' +
        'hint: make one the default with `steme keys default ci`, or sign with --key <name> or STEME_KEY=<name>\n',
    )
    expect(readdirSync(keys).sort()).toEqual(['ci.key', 'laptop.key'])
    const who = sb.run(['whoami'])
    expect(who.code).toBe(2)
    expect(who.stderr).toContain('error: no signing key: STEME_KEY is not set, and none of your 2 keys (ci, laptop) is the default')
    // The hint runs as written.
    const set = sb.run(['keys', 'default', 'ci', '--json'])
    expect(set.code, set.stderr).toBe(0)
    const ci = JSON.parse(set.stdout) as {name: string; agent: string; default: boolean}
    expect(ci).toMatchObject({name: 'ci', default: true})
    expect(agentOf(['whoami'])).toBe(ci.agent)
    expect(sb.run(['assert', 's', 'p', '1']).code).toBe(0)
    expect(sb.run(['keys', 'list']).stdout).toMatch(/^ci +[0-9a-f]{64} +yes /m)
  })

  it('keys default refuses a key that is not there or cannot sign, and keeps the default it had', () => {
    const first = agentOf(['keys', 'generate'])
    sb.run(['keys', 'generate', '--name', 'open'])
    chmodSync(join(keys, 'open.key'), 0o644)
    for (const [name, message] of [
      ['nope', 'no key named "nope"'],
      ['open', 'is readable by other users (mode 644)'],
      ['a/b', 'keys default takes the name of a key, and this is not a valid key name (it contains "/"); it is not printed'],
    ]) {
      const r = sb.run(['keys', 'default', name])
      expect(r.code, name).toBe(2)
      expect(r.stderr).toContain(message)
    }
    expect(agentOf(['whoami'])).toBe(first)
  })
})

describe('STEME_KEY set while the default key is shown or set', () => {
  it('keys list and keys default say that STEME_KEY signs, without its value', () => {
    sb.run(['keys', 'generate'])
    sb.run(['keys', 'generate', '--name', 'ci'])
    const seed = 'c0'.repeat(32)
    for (const args of [['keys', 'list'], ['keys', 'default', 'ci']]) {
      const r = sb.run(args, {env: {STEME_KEY: seed}})
      expect(r.code, args.join(' ')).toBe(0)
      expect(r.stderr).toContain('note: STEME_KEY is set, so the key it gives signs, not the default one')
      expect(r.stdout + r.stderr).not.toContain(seed)
      expect(sb.run(args).stderr).toBe('')
    }
  })
})

describe('the default key deleted', () => {
  it('says it is gone, names the keys left; a new key becomes the default', () => {
    sb.run(['keys', 'generate'])
    sb.run(['keys', 'generate', '--name', 'spare'])
    rmSync(join(keys, 'default.key'))
    const r = sb.run(['whoami'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`error: no signing key: your default key "default" is gone (${join(keys, 'DEFAULT')} names it, and there is no ${join(keys, 'default.key')})`)
    expect(r.stderr).toContain('hint: restore default.key from a backup, or make another key the default: `steme keys default spare` (you have spare)')
    const made = sb.json<{agent: string; default: boolean}>(['keys', 'generate', '--name', 'fresh'])
    expect(made.default).toBe(true)
    expect(agentOf(['whoami'])).toBe(made.agent)
  })

  it('init in a new place says there is no key to sign with, rather than nothing, and makes no key in its place', () => {
    sb.run(['keys', 'generate'])
    sb.run(['keys', 'generate', '--name', 'spare'])
    rmSync(join(keys, 'default.key'))
    const r = sb.run(['init'])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('note: the store is ready, but there is no key to sign with yet: your default key "default" is gone')
    expect(r.stderr).toContain('`steme keys default spare`')
    expect(existsSync(join(keys, 'default.key'))).toBe(false)
  })

  it('with no key left at all, init makes a new one, the default, and says so', () => {
    sb.run(['keys', 'generate'])
    rmSync(join(keys, 'default.key'))
    const r = sb.run(['init'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Generated signing key "default"')
    expect(agentOf(['whoami'])).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe('a key file steme cannot use', () => {
  it('damaged: the hint, followed as written, gives a working key', () => {
    sb.run(['keys', 'generate', '--name', 'ci'])
    writeFileSync(join(keys, 'ci.key'), '{"name":"ci","agent":"', {mode: 0o600})
    const r = sb.run(['whoami', '--key', 'ci'])
    expect(r.code).toBe(2)
    const file = join(keys, 'ci.key')
    expect(r.stderr).toContain(`error: key file ${file} is not a steme key file (not JSON)`)
    expect(r.stderr).toContain(`move it aside (mv ${file} ${file}.damaged) and create a new key with \`steme keys generate --name ci\``)
    renameSync(file, `${file}.damaged`)
    expect(sb.run(['keys', 'generate', '--name', 'ci']).code).toBe(0)
    expect(sb.run(['whoami', '--key', 'ci']).code).toBe(0)
  })

  it('open to others: readable or only writable, each named as it is; 0400 is fine', () => {
    sb.run(['keys', 'generate'])
    const file = join(keys, 'default.key')
    for (const [mode, says] of [
      [0o640, 'is readable by other users (mode 640)'],
      [0o602, 'is writable by other users (mode 602)'],
    ] as const) {
      chmodSync(file, mode)
      const r = sb.run(['whoami'])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(`error: key file ${file} ${says}`)
      expect(r.stderr).toContain(`hint: run: chmod 600 ${file}`)
    }
    chmodSync(file, 0o400)
    expect(sb.run(['whoami']).code).toBe(0)
  })

  it('a directory given as a key file is not told to chmod 600', () => {
    sb.run(['keys', 'generate'])
    mkdirSync(join(keys, 'odd.key'), {mode: 0o700})
    for (const key of ['odd', sb.dir]) {
      const r = sb.run(['whoami', '--key', key])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('is not a file but a directory')
      expect(r.stderr).not.toContain('chmod')
    }
    // keys list still lists the good one, and names the odd one.
    const listed = sb.run(['keys', 'list'])
    expect(listed.code).toBe(1)
    expect(listed.stderr).toContain('key "odd": key file')
  })

  it('one this user may not read is reported as that, not as damaged', (ctx) => {
    if (process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0) return ctx.skip()
    sb.run(['keys', 'generate'])
    copyFileSync(join(keys, 'default.key'), join(keys, 'root.key'))
    chmodSync(join(keys, 'root.key'), 0o600)
    for (const p of [sb.dir, join(sb.dir, 'xdg'), join(sb.dir, 'xdg', 'steme'), keys, join(keys, 'default.key'), join(keys, 'DEFAULT')]) chownSync(p, 65534, 65534)
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, 'whoami', '--key', 'root'], {cwd: sb.dir, env: sb.env, encoding: 'utf8'})
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(`error: cannot read key file ${join(keys, 'root.key')}: permission denied`)
    expect(r.stderr).toContain('it must belong to you, mode 600')
  })
})

describe('the key directory a symbolic link', () => {
  it('works through the link; a link to nothing is named as such', () => {
    const real = join(sb.dir, 'vault')
    mkdirSync(join(sb.dir, 'xdg', 'steme'), {recursive: true})
    symlinkSync(real, keys)
    const r = sb.run(['keys', 'generate'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`error: the key directory ${keys} is a symbolic link to ${real}, which does not exist`)
    expect(r.stderr).toContain(`mkdir -m 700 ${real}`)
    mkdirSync(real, {mode: 0o700})
    expect(sb.run(['keys', 'generate']).code).toBe(0)
    expect(readdirSync(real).sort()).toEqual(['DEFAULT', 'default.key'])
    expect(sb.run(['whoami']).code).toBe(0)
  })
})

describe('keys generate --name that is not a name', () => {
  it('says what is wrong with it, without printing it', () => {
    for (const [name, why] of [
      ['my key', 'it contains a space'],
      ['team/ci', 'it contains "/"'],
      ['', 'it is empty'],
      ['k'.repeat(65), 'it is 65 characters long'],
      // A file ".key" or "...key" in the key directory, and a name `keys default -ci` would read as a flag.
      ['.', 'it starts with "."'],
      ['..', 'it starts with "."'],
      ['-ci', 'it starts with "-"'],
    ]) {
      const r = sb.run(['keys', 'generate', `--name=${name}`])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(`error: that --name is not a valid key name: ${why}; it is not printed`)
      if (name.length > 2) expect(r.stderr).not.toContain(name)
    }
  })
})

describe('--store on commands that use no store', () => {
  it('is accepted (an alias may pass it to every command) but not offered in their --help', () => {
    const made = sb.json<{agent: string}>(['keys', 'generate'])
    for (const cmd of [['whoami'], ['keys', 'list'], ['keys', 'generate'], ['keys', 'default'], ['hook', 'install'], ['coverage'], ['claims', 'add']]) {
      const help = sb.run([...cmd, '--help'])
      expect(help.code, cmd.join(' ')).toBe(0)
      expect(help.stdout, cmd.join(' ')).not.toContain('--store')
    }
    // A command that uses one still offers it.
    expect(sb.run(['query', '--help']).stdout).toContain('--store')
    expect(sb.json<{agent: string}>(['whoami', '--store', join(sb.dir, 'nowhere')]).agent).toBe(made.agent)
    expect(sb.run(['keys', 'list', '--store', join(sb.dir, 'nowhere')]).code).toBe(0)
  })
})
