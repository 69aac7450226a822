import {describe, expect, it} from 'vitest'
import {getPath, lineOfPath, parsePath, stripJsonc} from '../../src/claims/path.js'

describe('paths', () => {
  it.each([
    ['compilerOptions.strict', ['compilerOptions', 'strict']],
    ['dependencies."@types/node"', ['dependencies', '@types/node']],
    ['items[2].name', ['items', 2, 'name']],
    ["a['b.c']", ['a', 'b.c']],
  ])('parses %s', (expr, segs) => {
    expect(parsePath(expr)).toEqual(segs)
  })

  it.each(['', 'a.', '.a', 'a..b', 'a[x]', 'a["b'])('refuses %j', (expr) => {
    expect(() => parsePath(expr)).toThrow()
  })

  it('walks objects and arrays, and misses cleanly', () => {
    const doc = {a: {b: [1, {c: false}]}}
    expect(getPath(doc, ['a', 'b', 1, 'c'])).toBe(false)
    expect(getPath(doc, ['a', 'x'])).toBeUndefined()
    expect(getPath(doc, ['a', 'b', 'length'])).toBeUndefined()
    expect(getPath({}, ['toString'])).toBeUndefined()
  })

  it('strips comments and trailing commas but keeps strings and lines', () => {
    const text = '{\n  // a comment\n  "url": "http://x//y", /* block\n */ "a": [1, 2,],\n}\n'
    const out = stripJsonc(text)
    expect(JSON.parse(out)).toEqual({url: 'http://x//y', a: [1, 2]})
    expect(out.split('\n')).toHaveLength(text.split('\n').length)
  })

  it('finds the line a key is written on', () => {
    const text = '{\n  "name": "x",\n  "compilerOptions": {\n    "target": "ES2022",\n    "strict": true\n  }\n}\n'
    expect(lineOfPath(text, ['compilerOptions', 'strict'])).toBe(5)
    expect(lineOfPath('[server]\nport = 1\ntimeout_ms = 3\n', ['server', 'timeout_ms'])).toBe(3)
  })
})
