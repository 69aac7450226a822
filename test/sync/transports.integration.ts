/** The transport contract over the three real transports: a path, SSH through a real sshd, HTTP through a real server. */
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {afterAll, beforeAll} from 'vitest'
import type {Sealed} from '../../src/core/seal.js'
import {openStore} from '../../src/runtime.js'
import {openPathTransport} from '../../src/sync/transports/path.js'
import {openHttpTransport} from '../../src/sync/transports/http.js'
import {openSshTransport} from '../../src/sync/transports/ssh.js'
import {transportContract} from '../contracts/transport.js'
import {startSshd, type Sshd} from '../helpers/sshd.js'

const BIN = resolve(__dirname, '../../bin/run.js')

/** A DuckDB store in `<dir>/.steme/` holding `seed`. */
async function storeDir(seed: readonly Sealed[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'steme-remote-'))
  const {mkdirSync} = await import('node:fs')
  mkdirSync(join(dir, '.steme'))
  const store = await openStore(join(dir, '.steme', 'store.duckdb'), {create: true})
  if (seed.length) await store.insert(seed)
  await store.close()
  return dir
}

transportContract('path', async (seed) => {
  const dir = await storeDir(seed)
  const transport = await openPathTransport('test-path', dir, {...process.env, XDG_CONFIG_HOME: join(dir, 'cfg')})
  return {
    transport,
    async teardown() {
      await transport.close()
      rmSync(dir, {recursive: true, force: true})
    },
  }
})

transportContract('http', async (seed) => {
  const dir = await storeDir(seed)
  const proc = spawn(process.execPath, [BIN, 'sync-serve', '--http', '0', '--store', dir], {env: {...process.env, XDG_CONFIG_HOME: join(dir, 'cfg')}, stdio: ['ignore', 'pipe', 'pipe']})
  let err = ''
  proc.stderr!.on('data', (d) => (err += d))
  const url = await new Promise<string>((res, rej) => {
    proc.stdout!.once('data', (d) => res(String(d).trim()))
    proc.once('exit', (c) => rej(new Error(`sync-serve --http exited ${c}: ${err}`)))
  })
  const transport = openHttpTransport('test-http', url)
  return {
    transport,
    async teardown() {
      await transport.close()
      proc.kill('SIGTERM')
      await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once('exit', r)))
      rmSync(dir, {recursive: true, force: true})
    },
  }
})

let sshd: Sshd
beforeAll(async () => {
  sshd = await startSshd()
})
afterAll(async () => {
  await sshd?.stop()
})

transportContract('ssh', async (seed) => {
  const dir = await storeDir(seed)
  const transport = openSshTransport(
    'test-ssh',
    {user: sshd.user, host: '127.0.0.1', port: sshd.port, path: dir},
    {identities: [sshd.identity], knownHosts: sshd.knownHosts, remoteCmd: `${process.execPath} ${BIN}`, env: {HOME: sshd.dir}},
  )
  return {
    transport,
    async teardown() {
      await transport.close()
      rmSync(dir, {recursive: true, force: true})
    },
  }
})
