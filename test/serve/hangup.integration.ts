/** `steme serve` on a terminal that hangs up: it serves on, and stops cleanly when told to. */
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'

// util-linux script(1) runs the daemon on a pseudo-terminal of its own; killing script closes the
// terminal's other end, as a dropped ssh session does: SIGHUP, then EIO on every write to it.
const hasScript = process.platform === 'linux' && spawnSync('script', ['--version']).status === 0

let sb: Sandbox
let pid: number | undefined
beforeEach(() => {
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
})
afterEach(() => {
  if (pid !== undefined && !gone(pid)) process.kill(pid, 'SIGKILL')
  pid = undefined
  sb.cleanup()
})

/** Whether a process has ended (an orphan not yet reaped counts as ended). */
function gone(p: number): boolean {
  try {
    process.kill(p, 0)
  } catch {
    return true
  }
  try {
    return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.[0] === 'Z'
  } catch {
    return true
  }
}

const until = async (ok: () => boolean, tries = 200) => {
  for (let i = 0; i < tries && !ok(); i++) await new Promise((r) => setTimeout(r, 50))
  return ok()
}

describe('steme serve, its terminal gone', () => {
  it.skipIf(!hasScript)('serves on after its terminal hangs up, its status line no longer drawn, and stops cleanly on SIGTERM', async () => {
    const state = join(sb.dir, '.steme', 'state', 'serve.json')
    // A terminal with a size, so the daemon draws its live status line and logs there.
    const cmd = `stty cols 120 rows 30; exec '${process.execPath}' '${BIN}' serve --port 0`
    const term = spawn('script', ['-qfec', cmd, '/dev/null'], {cwd: sb.dir, env: {...sb.env, SHELL: '/bin/sh'}, stdio: ['pipe', 'pipe', 'pipe']})
    let screen = ''
    term.stdout.on('data', (d) => (screen += d))
    const closed = new Promise((r) => term.on('close', r))
    expect(await until(() => existsSync(state) && screen.includes('serving')), screen).toBe(true)
    const served = JSON.parse(readFileSync(state, 'utf8')) as {url: string; pid: number}
    pid = served.pid
    expect((await fetch(`${served.url}/healthz`)).status).toBe(200)

    term.kill('SIGKILL')
    await closed
    // The status line is redrawn every second: those writes now fail on the hung-up terminal.
    await new Promise((r) => setTimeout(r, 2500))
    expect(gone(pid), 'the daemon ended when its terminal hung up').toBe(false)
    const health = await fetch(`${served.url}/healthz`, {headers: {connection: 'close'}})
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({status: 'ok'})

    process.kill(pid, 'SIGTERM')
    expect(await until(() => gone(pid!))).toBe(true)
    // A clean stop removes the daemon's state file; a crash leaves it.
    expect(existsSync(state)).toBe(false)
  })

  it.skipIf(process.platform === 'win32')('without a terminal, SIGHUP is logged and the daemon serves on', async () => {
    const state = join(sb.dir, '.steme', 'state', 'serve.json')
    const p = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {cwd: sb.dir, env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
    let log = ''
    p.stdout.on('data', (d) => (log += d))
    p.stderr.on('data', (d) => (log += d))
    const exited = new Promise<number | null>((r) => p.on('exit', r))
    expect(await until(() => existsSync(state)), log).toBe(true)
    const served = JSON.parse(readFileSync(state, 'utf8')) as {url: string}
    pid = p.pid
    p.kill('SIGHUP')
    expect(await until(() => log.includes('SIGHUP: serving on')), log).toBe(true)
    expect((await fetch(`${served.url}/healthz`, {headers: {connection: 'close'}})).status).toBe(200)
    p.kill('SIGTERM')
    expect(await exited, log).toBe(0)
    expect(existsSync(state)).toBe(false)
  })
})
