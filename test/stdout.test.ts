import {describe, expect, it} from 'vitest'
import {JsonListWriter} from '../src/stdout.js'

describe('JsonListWriter', () => {
  it('writes, batch by batch, exactly the text of the whole object printed with JSON.stringify(value, null, 2)', async () => {
    const items = [{a: 1, nested: {list: [1, 2], s: 'line\nbreak'}}, {b: []}, {c: {}}, 'text', 3, null, [{d: 'x'}]]
    for (const cut of [[], [1], [2, 5], [1, 2, 3, 4, 5, 6]]) {
      let text = ''
      const w = new JsonListWriter('records', async (t) => void (text += t))
      let from = 0
      for (const to of [...cut, items.length]) {
        await w.items(items.slice(from, to))
        from = to
      }
      await w.end()
      expect(text).toBe(JSON.stringify({records: items}, null, 2) + '\n')
    }
  })

  it('an empty list as JSON.stringify gives it', async () => {
    let text = ''
    const w = new JsonListWriter('records', async (t) => void (text += t))
    await w.items([])
    await w.end()
    expect(text).toBe(JSON.stringify({records: []}, null, 2) + '\n')
  })
})
