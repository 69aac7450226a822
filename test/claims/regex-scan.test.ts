import {describe, expect, it} from 'vitest'
import {couldBacktrack} from '../../src/claims/regex-scan.js'

describe('which regexes need the time budget', () => {
  it.each([
    // Literal scans, with a few choices: a fixed number of paths from each position.
    ['TODO', false],
    ['BEGIN (RSA |EC )?PRIVATE KEY', false],
    ['\\bdebugger\\b', false],
    ['(?:FIXME|XXX|HACK)\\((?<who>\\w)\\)', false],
    ['[*+{]\\*\\+\\{1\\}\\u{1F600}\\p{L}', false],
    ['a{,2}', false],
    // Anything that repeats without a small fixed bound, or chooses too often.
    ['^((a+)+)$', true],
    ['a*b', true],
    ['VERSION = "([^"]+)"', true],
    ['(?=a+)', true],
    ['x{2}', true],
    ['x{2,}', true],
    ['a?a?a?a?a?a?a?aaaaaaa', true],
  ])('%s: %s', (source, slow) => {
    expect(couldBacktrack(source)).toBe(slow)
  })
})
