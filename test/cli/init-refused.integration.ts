import {describe, expect, it} from 'vitest'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {sandbox} from '../helpers/cli.js'

/** Every path under dir, relative, sorted: what is on disk after a run. */
function tree(dir: string, prefix = ''): string[] {
  return readdirSync(dir, {withFileTypes: true})
    .flatMap((e) => [prefix + e.name, ...(e.isDirectory() ? tree(join(dir, e.name), prefix + e.name + '/') : [])])
    .sort()
}

describe('a refused steme init leaves nothing it created behind', () => {
  it('no key can be made (XDG_CONFIG_HOME is a file): no .steme/, no key directory', () => {
    const sb = sandbox()
    try {
      writeFileSync(join(sb.dir, 'xdg'), 'not a directory\n')
      const r = sb.run(['init'])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(`error: cannot create the key directory ${join(sb.dir, 'xdg', 'steme', 'keys')}: not a directory`)
      expect(r.stderr).toContain('XDG_CONFIG_HOME')
      expect(r.stderr).not.toContain('internal error')
      expect(tree(sb.dir)).toEqual(['xdg'])
    } finally {
      sb.cleanup()
    }
  })

  it('what was in .steme/ before is kept; what this run wrote is taken back', () => {
    const sb = sandbox()
    try {
      writeFileSync(join(sb.dir, 'xdg'), 'not a directory\n')
      mkdirSync(join(sb.dir, '.steme'))
      writeFileSync(join(sb.dir, '.steme', 'config.toml'), '# mine\n')
      expect(sb.run(['init']).code).toBe(2)
      expect(tree(sb.dir)).toEqual(['.steme', '.steme/config.toml', 'xdg'])
      expect(readFileSync(join(sb.dir, '.steme', 'config.toml'), 'utf8')).toBe('# mine\n')
    } finally {
      sb.cleanup()
    }
  })

  it('.steme/store.duckdb is a directory: refused before config.toml or .gitignore is written', () => {
    const sb = sandbox()
    try {
      mkdirSync(join(sb.dir, '.steme', 'store.duckdb'), {recursive: true})
      const r = sb.run(['init'])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(`error: ${join(sb.dir, '.steme', 'store.duckdb')} is there and is not a database file; nothing was created`)
      expect(tree(sb.dir)).toEqual(['.steme', '.steme/store.duckdb'])
    } finally {
      sb.cleanup()
    }
  })

  it('.steme/store.duckdb is not a database: the store will not open, and the files written before are removed', () => {
    const sb = sandbox()
    try {
      mkdirSync(join(sb.dir, '.steme'))
      writeFileSync(join(sb.dir, '.steme', 'store.duckdb'), 'garbage\n')
      const r = sb.run(['init'])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('store.duckdb is not a steme store: it is not a DuckDB database file')
      expect(tree(sb.dir)).toEqual(['.steme', '.steme/store.duckdb'])
      expect(readFileSync(join(sb.dir, '.steme', 'store.duckdb'), 'utf8')).toBe('garbage\n')
    } finally {
      sb.cleanup()
    }
  })

  it('and a good init after a refused one works', () => {
    const sb = sandbox()
    try {
      writeFileSync(join(sb.dir, 'xdg'), '')
      expect(sb.run(['init']).code).toBe(2)
      expect(sb.run(['init'], {env: {XDG_CONFIG_HOME: join(sb.dir, 'keys-here')}}).code).toBe(0)
      expect(tree(join(sb.dir, '.steme'))).toEqual(['.gitignore', 'config.toml', 'store.duckdb'])
    } finally {
      sb.cleanup()
    }
  })
})
