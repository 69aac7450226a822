import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {sandbox, type Sandbox} from '../helpers/cli.js'

// A store with one claim, a directory and a file to pass where the other is wanted.
let sb: Sandbox
beforeAll(() => {
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
  expect(sb.run(['claims', 'add', '--id', 'c1', '--subject', 'a', '--predicate', 'p', '--expect', '1']).code).toBe(0)
  mkdirSync(join(sb.dir, 'somedir'))
  writeFileSync(join(sb.dir, 'somefile'), 'a file\n')
})
afterAll(() => sb.cleanup())

/** A refusal the user can act on: exit 2, the message and a hint, and no trace of a bug. */
function refused(args: string[], message: string, cwd?: string): void {
  const r = sb.run(args, {cwd})
  expect(r.stderr).toContain(`error: ${message}`)
  expect(r.stderr).toMatch(/^hint: \S/m)
  expect(r.stderr).not.toMatch(/internal error|Unhandled|    at /)
  expect(r.code).toBe(2)
}

describe('a path that is a directory, a file or in the way is the user\'s error', () => {
  it('ingest DIR', () => {
    refused(['ingest', 'somedir'], 'somedir is a directory, not a file to ingest')
  })

  it('export -o DIR and claims explain -o DIR', () => {
    refused(['export', '-o', 'somedir'], '--output somedir is a directory')
    refused(['claims', 'explain', '-o', 'somedir'], '--output somedir is a directory')
    expect(readdirSync(join(sb.dir, 'somedir'))).toEqual([])
  })

  it('verify --claims DIR and claims list --claims DIR', () => {
    refused(['verify', '--claims', 'somedir'], 'the claims file somedir is a directory')
    refused(['claims', 'list', '--claims', 'somedir'], 'the claims file somedir is a directory')
  })

  it('init --dir FILE, and init where .steme is a file: nothing is created', () => {
    refused(['init', '--dir', 'somefile'], 'init --dir somefile is not a directory')
    refused(['init', '--dir', 'somefile/sub'], 'init --dir somefile/sub: a part of the path is not a directory')
    const other = sandbox()
    try {
      writeFileSync(join(other.dir, '.steme'), '')
      const r = other.run(['init'])
      expect(r.stderr).toContain(`error: ${join(other.dir, '.steme')} is there and is not a directory`)
      expect(r.stderr).not.toContain('internal error')
      expect(r.code).toBe(2)
      expect(readdirSync(other.dir)).toEqual(['.steme'])
    } finally {
      other.cleanup()
    }
  })

  it('a system error on a path no command checked is rendered with the path, not as a bug', () => {
    // --update-baseline writes where --baseline points; a directory there fails in the write itself.
    refused(['verify', '--update-baseline', '--baseline', 'somedir'], 'cannot open somedir: illegal operation on a directory')
  })
})
