/** Temp repos for claims tests: files as data, optionally a git repo with everything committed. */
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {afterAll} from 'vitest'

const made: string[] = []
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, {recursive: true, force: true})
})

/** A temp directory removed when the test file ends. */
export function tempDir(prefix = 'steme-claims-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  made.push(d)
  return d
}

export const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.org',
  GIT_COMMITTER_NAME: 'Test Author',
  GIT_COMMITTER_EMAIL: 'author@example.org',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
}

export function writeFiles(dir: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(dir, rel)
    mkdirSync(dirname(p), {recursive: true})
    writeFileSync(p, content)
  }
}

export function gitIn(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {cwd: dir, env: {...process.env, ...GIT_ENV}, encoding: 'utf8'})
}

export function makeRepo(files: Record<string, string | Buffer>, opts: {git?: boolean; commit?: boolean} = {}): string {
  const dir = tempDir()
  writeFiles(dir, files)
  if (opts.git) {
    gitIn(dir, 'init', '-q', '-b', 'main')
    gitIn(dir, 'add', '-A')
    if (opts.commit !== false) gitIn(dir, 'commit', '-qm', 'initial')
  }
  return dir
}

export const claim = (id: string, subject: string, predicate: string, rest = '') => `[[claim]]\nid = "${id}"\nsubject = "${subject}"\npredicate = "${predicate}"\n${rest}\n`
