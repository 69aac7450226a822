import {spawn} from 'node:child_process'
import {renameSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MessageReader, frameMessage} from '../../src/sync/framing.js'
import {CAPS} from '../../src/sync/server.js'
import {PROTOCOL, T, VERSION, encode} from '../../src/sync/wire.js'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
beforeAll(() => { sb = sandbox('steme-rv-') })
afterAll(() => sb?.cleanup())
function serving(args: string[]) {
  const p = spawn(process.execPath, [BIN, ...args], {cwd: sb.dir, env: sb.env})
  const reader = new MessageReader(true)
  const msgs: Uint8Array[] = []
  let stderr = ''
  p.stdout.on('data', (d: Buffer) => msgs.push(...reader.push(d)))
  p.stderr.on('data', (d) => (stderr += d))
  return {p, msgs, stderr: () => stderr, exited: new Promise((r) => p.on('close', r))}
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const helloRequest = () => frameMessage(encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: CAPS, mode: 'pull'}}]))

describe('review', () => {
  it('idle after release', async () => {
    expect(sb.run(['init', '--dir', 'i']).code).toBe(0)
    const s = serving(['sync-serve', '--stdio', '--store', 'i', '--release-after', '0.2', '--idle-timeout', '1'])
    s.p.stdin.write(helloRequest())
    const t = Date.now()
    console.log('exit', await s.exited, Date.now() - t, s.stderr())
  })
  it('store moved during release', async () => {
    expect(sb.run(['init', '--dir', 'm']).code).toBe(0)
    const s = serving(['sync-serve', '--stdio', '--store', 'm', '--release-after', '0.2'])
    s.p.stdin.write(helloRequest())
    while (s.msgs.length < 1) await sleep(10)
    await sleep(600)
    renameSync(join(sb.dir, 'm'), join(sb.dir, 'm2'))
    s.p.stdin.write(helloRequest())
    console.log('exit', await s.exited, s.msgs.length, s.stderr())
  })
})
