/** Signing keys on disk: the XDG config dir, one 0600 file per key, never printed; STEME_KEY for CI. */
import {chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {basename, dirname, join, resolve, sep} from 'node:path'
import {UserError} from './core/errors.js'
import {isHex, toHex} from './core/hash.js'
import {configHome, whyNoHome} from './home.js'
import {generateKeyPair, keyPairFromSeed, type KeyPair} from './core/sign.js'
import {replaceFileSync} from './output-file.js'

export interface KeyInfo {
  name: string
  /** The public key; '' when the file cannot be used (see problem). */
  agent: string
  path: string
  default: boolean
  /** Why this key file cannot be used (too open, damaged), when it cannot. */
  problem?: string
}

export interface LoadedKey extends KeyPair {
  name: string
  /** Where it came from, for `whoami`: a file path or "STEME_KEY". */
  origin: string
}

// Not starting with "." or "-": "." and ".." made the files ..key and ...key, and `keys default -ci` reads as a flag.
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/
/** 32 hex digits or more: the shape of key material (a seed is 64; one pasted short by a few is still most of one). */
const SEED_RE = /^[0-9a-fA-F]{32,}$/
const NAME_RULE = 'letters, digits, ".", "_" or "-", at most 64 chars, starting with a letter, digit or "_", and not 32 or more hex digits alone'

/**
 * Whether a key name may be used and printed. A run of 32 or more hex digits is the shape of a
 * private seed (STEME_KEY takes 64), or of most of one, so a name like that is refused and never
 * echoed: it may be a seed typed into --key or --name, whole or cut short.
 */
const isKeyName = (name: string): boolean => NAME_RE.test(name) && !SEED_RE.test(name)

/** A key given by path rather than by name: a slash cannot be in a name. */
const isPath = (given: string): boolean => given.includes('/') || given.includes(sep)

/**
 * steme's config directory: $XDG_CONFIG_HOME/steme, else ~/.config/steme. A relative XDG_CONFIG_HOME
 * is ignored, as the XDG spec says: keys would otherwise land in whatever directory steme runs in,
 * a repository among them. With no home either, there is nowhere to keep keys, and that is the error.
 */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = configHome(env)
  if (base === undefined) {
    const xdg = env.XDG_CONFIG_HOME ? 'XDG_CONFIG_HOME is not an absolute path' : 'XDG_CONFIG_HOME is not set'
    throw new UserError(`there is nowhere to keep signing keys: ${xdg}, and there is no home directory (${whyNoHome(env)})`, {
      code: 'no_key',
      hint: 'set XDG_CONFIG_HOME (or HOME) to a directory you can write; or, as in CI, give the key in STEME_KEY (a 64-hex seed or the path of a key file)',
    })
  }
  return join(base, 'steme')
}

export class KeyStore {
  private keyDir?: string
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Where key files are; found when first needed, so a STEME_KEY seed works where there is no home. */
  get dir(): string {
    return (this.keyDir ??= join(configDir(this.env), 'keys'))
  }

  private defaultFile(): string {
    return join(this.dir, 'DEFAULT')
  }

  /**
   * The default key's name: the one the DEFAULT file names, else "default" when there is a key by
   * that name (key files copied from another machine without their DEFAULT), else none.
   */
  defaultName(): string | undefined {
    const file = this.defaultFile()
    let n: string | undefined
    try {
      n = readFileSync(file, 'utf8').trim() || undefined
    } catch {
      n = undefined
    }
    return n ?? (existsSync(join(this.dir, 'default.key')) ? 'default' : undefined)
  }

  /** The names of the key files there are (valid names only: a file named like a seed is not echoed), sorted. */
  names(): string[] {
    if (!existsSync(this.dir)) return []
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.key'))
      .map((f) => f.slice(0, -4))
      .filter(isKeyName)
      .sort()
  }

  /** Make an existing key the default: it must be there and usable, so the default always signs. */
  setDefault(name: string): KeyInfo {
    if (!isKeyName(name)) throw notAName('keys default', name)
    const k = this.named(name)
    replaceFileSync(this.defaultFile(), name + '\n', 0o600)
    return {name, agent: k.publicHex, path: k.origin, default: true}
  }

  list(): KeyInfo[] {
    if (!existsSync(this.dir)) return []
    const def = this.defaultName()
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.key'))
      .sort()
      .map((f) => {
        const name = f.slice(0, -4)
        const path = join(this.dir, f)
        // One unreadable key file is reported in its row; the others are still listed.
        try {
          return {name, agent: this.readFile(path, name).publicHex, path, default: name === def}
        } catch (e) {
          if (!(e instanceof UserError)) throw e
          return {name, agent: '', path, default: name === def, problem: e.hint ? `${e.message}; ${e.hint}` : e.message}
        }
      })
  }

  generate(name = 'default', makeDefault?: boolean): KeyInfo {
    if (SEED_RE.test(name.trim())) {
      throw new UserError('--name takes a name for the new key, and this one is only hex digits, 32 or more, the shape of a private key seed; it is not used or printed', {
        hint: `pick a name (${NAME_RULE}); a raw seed is not imported as a key file: set STEME_KEY to it instead`,
      })
    }
    if (!isKeyName(name)) throw new UserError(`that --name is not a valid key name: ${whyNotName(name)}; it is not printed`, {hint: `use ${NAME_RULE}`})
    const path = join(this.dir, `${name}.key`)
    if (existsSync(path)) throw new UserError(`a key named "${name}" already exists at ${path}`, {hint: 'pick another --name; steme never overwrites a key'})
    let madeDir: string | undefined
    try {
      madeDir = mkdirSync(this.dir, {recursive: true, mode: 0o700})
    } catch (e) {
      const link = danglingLink(this.dir)
      if (link !== undefined) {
        throw new UserError(`the key directory ${this.dir} is a symbolic link to ${link}, which does not exist`, {
          code: 'no_key',
          cause: e,
          hint: `create the directory it points to (mkdir -m 700 ${link}), or remove the link (rm ${this.dir}) and steme creates the directory`,
        })
      }
      const reason = (e as Error).message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '')
      throw new UserError(`cannot create the key directory ${this.dir}: ${reason}`, {
        code: 'no_key',
        cause: e,
        hint: 'keys are kept in $XDG_CONFIG_HOME/steme/keys (else ~/.config/steme/keys): point XDG_CONFIG_HOME at a directory you can write, or set STEME_KEY',
      })
    }
    // The first key is the default, and so is a new key when the default one is gone (asked before
    // the new file is there: a first key named "default" would count as the default by its name).
    const def = this.defaultName()
    const isDefault = makeDefault ?? (def === undefined || !existsSync(join(this.dir, `${def}.key`)))
    const key = generateKeyPair()
    const body = JSON.stringify({name, agent: key.publicHex, seed: toHex(key.seed())}) + '\n'
    let wrote = false
    try {
      // 'wx' refuses to follow or replace an existing file; mode applies at creation.
      writeFileSync(path, body, {mode: 0o600, flag: 'wx'})
      wrote = true
      chmodSync(path, 0o600)
      if (isDefault) replaceFileSync(this.defaultFile(), name + '\n', 0o600)
      return {name, agent: key.publicHex, path, default: isDefault}
    } catch (e) {
      // A key half made is no key: take back the file and the directories this call created.
      if (wrote) rmSync(path, {force: true})
      if (madeDir) rmSync(madeDir, {recursive: true, force: true})
      throw e
    }
  }

  /**
   * The key to sign with: --key (a key name or a key file path), else STEME_KEY (the same, or a
   * 64-hex seed for CI), else the default key file.
   */
  load(name?: string): LoadedKey {
    if (name !== undefined) return this.fromFlag(name)
    const envKey = this.env.STEME_KEY
    if (envKey) return this.fromEnv(envKey)
    const n = this.defaultName()
    if (!n) throw this.noDefault()
    if (!isKeyName(n)) {
      throw new UserError(`the default key name in ${this.defaultFile()} is not a valid key name; it is not printed`, {
        code: 'no_key',
        hint: 'make one of your keys the default with `steme keys default <name>` (`steme keys list` names them)',
      })
    }
    if (!existsSync(join(this.dir, `${n}.key`))) throw this.defaultGone(n)
    return this.named(n)
  }

  /** No STEME_KEY and no default: there are no keys at all, or there are and none is the default. */
  private noDefault(): UserError {
    const names = this.names()
    if (names.length === 0) {
      return new UserError(`no signing key: STEME_KEY is not set, and there is no key in ${this.dir}`, {
        code: 'no_key',
        hint: 'create one with `steme keys generate` (or `steme init`), or set STEME_KEY (a key name, a key file path, or a 64-hex seed)',
      })
    }
    const which = names.length === 1 ? `your one key (${names[0]}) is not` : `none of your ${names.length} keys (${shortList(names)}) is`
    return new UserError(`no signing key: STEME_KEY is not set, and ${which} the default`, {
      code: 'no_key',
      hint: `make one the default with \`steme keys default ${names[0]}\`, or sign with --key <name> or STEME_KEY=<name>`,
    })
  }

  /** DEFAULT names a key whose file is not there (deleted, or renamed). */
  private defaultGone(n: string): UserError {
    const others = this.names().filter((x) => x !== n)
    return new UserError(`no signing key: your default key "${n}" is gone (${this.defaultFile()} names it, and there is no ${join(this.dir, `${n}.key`)})`, {
      code: 'no_key',
      hint: others.length
        ? `restore ${n}.key from a backup, or make another key the default: \`steme keys default ${others[0]}\` (you have ${shortList(others)})`
        : `restore ${n}.key from a backup, or create a new key with \`steme keys generate\` (a new key is a new agent: stores that trust the old one do not trust it)`,
    })
  }

  /** --key: a name of `steme keys list`, or a path (it has a slash); never a seed, and what may be one is not echoed. */
  private fromFlag(given: string): LoadedKey {
    if (isPath(given)) {
      if (!existsSync(given)) throw new UserError(`--key ${given}: no such key file`, {code: 'no_key', hint: 'give the path of a key file, or the name of one of `steme keys list`'})
      return {...this.readFile(given), name: basename(given).replace(/\.key$/, ''), origin: given}
    }
    if (!isKeyName(given)) throw notAName('--key', given)
    return this.named(given)
  }

  /**
   * STEME_KEY: a 64-hex seed (CI), else a key name, else a key file path. Its value is never
   * printed: a seed with a typo in it is not a seed, and still a secret.
   */
  private fromEnv(given: string): LoadedKey {
    if (isHex(given.trim(), 64)) return {...keyPairFromSeed(Buffer.from(given.trim(), 'hex')), name: 'env', origin: 'STEME_KEY'}
    if (!isPath(given) && isKeyName(given) && existsSync(join(this.dir, `${given}.key`))) {
      const k = this.named(given)
      return {...k, origin: `${k.origin}, from STEME_KEY`}
    }
    if (existsSync(given)) return {...this.readFile(given), name: 'env', origin: given}
    throw new UserError(`STEME_KEY is set but is not a 64-hex-char seed, the name of a key in ${this.dir}, or the path of a key file; its value is not printed, as it may be key material`, {
      code: 'no_key',
      hint: 'see your key names with `steme keys list`; set STEME_KEY to one of them, to a key file path or to a seed, or unset it',
    })
  }

  private named(n: string): LoadedKey {
    const path = join(this.dir, `${n}.key`)
    if (!existsSync(path)) {
      throw new UserError(`no key named "${n}" in ${this.dir}`, {
        code: 'no_key',
        hint: `list keys with \`steme keys list\` or create one with \`steme keys generate --name ${n}\`; a key file elsewhere is given by its path (./${n})`,
      })
    }
    return {...this.readFile(path, n), name: n, origin: path}
  }

  /** Said where the default key is shown or set while STEME_KEY is what signs; its value is not printed. */
  envNote(): string | undefined {
    return this.env.STEME_KEY ? 'note: STEME_KEY is set, so the key it gives signs, not the default one (`steme whoami` shows which); unset it to sign with the default' : undefined
  }

  /** Whether there is a key to sign with, or to report on: STEME_KEY, or any key file. A new one is made only when not. */
  has(): boolean {
    return !!this.env.STEME_KEY || this.names().length > 0
  }

  /**
   * A key file's key pair. Like ssh with a private key, steme refuses one that other users may
   * read or write; and says what is wrong with one it cannot use, and what to do.
   */
  private readFile(path: string, name?: string): KeyPair {
    let st
    try {
      st = statSync(path)
    } catch (e) {
      throw cannotRead(path, e)
    }
    if (!st.isFile()) {
      throw new UserError(`key file ${path} is not a file but a ${st.isDirectory() ? 'directory' : 'special file'}`, {code: 'no_key', hint: 'give the path of a key file (steme keeps them as <name>.key in its key directory, `steme keys list`)'})
    }
    const mode = st.mode & 0o777
    if (mode & 0o077) {
      const what = mode & 0o044 ? 'readable' : 'writable'
      throw new UserError(`key file ${path} is ${what} by other users (mode ${mode.toString(8).padStart(3, '0')}); a private key must be the owner's alone`, {code: 'no_key', hint: `run: chmod 600 ${path}`})
    }
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (e) {
      throw cannotRead(path, e)
    }
    // A damaged file is not overwritten (steme never overwrites a key): it is moved aside first.
    const damaged =
      name === undefined
        ? 'restore it from a backup, or give another key file'
        : `restore it from a backup; or move it aside (mv ${path} ${path}.damaged) and create a new key with \`steme keys generate${name === 'default' ? '' : ` --name ${name}`}\` (a new key is a new agent)`
    let parsed: {seed?: unknown}
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new UserError(`key file ${path} is not a steme key file (not JSON)`, {code: 'no_key', hint: damaged})
    }
    if (typeof parsed?.seed !== 'string' || !isHex(parsed.seed, 64)) {
      throw new UserError(`key file ${path} is damaged: it has no valid seed`, {code: 'no_key', hint: damaged})
    }
    return keyPairFromSeed(Buffer.from(parsed.seed, 'hex'))
  }
}

/** A name where a key name belongs that is not one: never echoed, as it may be a seed, pasted. */
function notAName(what: string, given: string): UserError {
  const seed = SEED_RE.test(given.trim())
  return new UserError(`${what} takes the name of a key, and this ${seed ? 'looks like a private key seed (32 or more hex digits)' : `is not a valid key name (${whyNotName(given)})`}; it is not printed`, {
    code: 'no_key',
    hint: 'see your key names with `steme keys list` (a key file is given by its path, ./name.key); to sign with a raw seed, set it in STEME_KEY instead (and keep it out of your shell history)',
  })
}

/** What breaks the naming rule, without the name: a character that is not allowed is never part of a seed. */
function whyNotName(name: string): string {
  if (name === '') return 'it is empty'
  const bad = [...name].find((c) => !/[A-Za-z0-9._-]/.test(c))
  if (bad !== undefined) return `it contains ${bad === ' ' ? 'a space' : JSON.stringify(bad)}`
  if (name.length > 64) return `it is ${name.length} characters long`
  if (name[0] === '.' || name[0] === '-') return `it starts with ${JSON.stringify(name[0])}`
  return 'it is only hex digits, 32 or more, the shape of a seed'
}

const shortList = (names: string[]): string => (names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`)

/** Where a symbolic link at path points, when it points at nothing. */
function danglingLink(path: string): string | undefined {
  try {
    if (!lstatSync(path).isSymbolicLink() || existsSync(path)) return undefined
    return resolve(dirname(path), readlinkSync(path))
  } catch {
    return undefined
  }
}

/** A key file that cannot be read: which, and the system's reason (missing, permission denied). */
function cannotRead(path: string, e: unknown): UserError {
  const err = e as NodeJS.ErrnoException
  const reason = err.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '')
  return new UserError(`cannot read key file ${path}: ${reason}`, {
    code: 'no_key',
    cause: e,
    hint: err.code === 'EACCES' || err.code === 'EPERM' ? `it must belong to you, mode 600: check with ls -l ${path}` : 'give the path of a key file, or the name of one of `steme keys list`',
  })
}
