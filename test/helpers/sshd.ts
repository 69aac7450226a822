/** A real OpenSSH sshd for integration tests: 127.0.0.1, a free port, a temp host key and an authorized user key. */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'

export const SSHD = process.env.STEME_TEST_SSHD ?? '/usr/sbin/sshd'

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address() as {port: number}
      s.close(() => resolve(port))
    })
  })
}

export interface Sshd {
  port: number
  user: string
  dir: string
  /** Private key file authorized to log in. */
  identity: string
  /** A known_hosts file holding the server's host key. */
  knownHosts: string
  /** The host key line as ssh-keyscan would print it. */
  hostKeyLine: string
  /** Stop listening, as when sshd restarts: the sessions it started go on. */
  halt(): Promise<void>
  /** Listen again on the same port; with `newHostKey`, under a new host key (the host was reinstalled). */
  resume(opts?: {newHostKey?: boolean}): Promise<void>
  stop(): Promise<void>
  /** What sshd wrote to stderr so far (at LogLevel ERROR unless `logLevel` says otherwise). */
  log(): string
}

export async function startSshd(opts: {logLevel?: string; config?: string[]} = {}): Promise<Sshd> {
  if (!existsSync(SSHD)) throw new Error(`no sshd at ${SSHD}: install OpenSSH's server (apt-get install -y openssh-server, as .ci/run does), or set STEME_TEST_SSHD to its path`)
  const dir = mkdtempSync(join(tmpdir(), 'steme-sshd-'))
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'steme-test', '-f', file])
  keygen(join(dir, 'host_ed25519'))
  keygen(join(dir, 'user_ed25519'))
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_ed25519.pub')))
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', {recursive: true, mode: 0o755})
  const port = await freePort()
  const config = join(dir, 'sshd_config')
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      `LogLevel ${opts.logLevel ?? 'ERROR'}`,
      ...(opts.config ?? []),
      '',
    ].join('\n'),
  )
  const {connect} = await import('node:net')
  let log = ''
  const launch = async (): Promise<ChildProcess> => {
    const proc: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], {stdio: ['ignore', 'ignore', 'pipe']})
    proc.stderr!.on('data', (d) => (log += d.toString()))
    // Ready when the port accepts connections.
    for (let i = 0; ; i++) {
      if (proc.exitCode !== null) throw new Error(`sshd exited: ${log}`)
      const ok = await new Promise<boolean>((resolve) => {
        const c = connect(port, '127.0.0.1', () => {
          c.end()
          resolve(true)
        })
        c.on('error', () => resolve(false))
      })
      if (ok) return proc
      if (i > 100) throw new Error(`sshd did not start: ${log}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const end = async (p: ChildProcess | undefined) => {
    if (!p || p.exitCode !== null || p.signalCode !== null) return
    const exited = new Promise((r) => p.once('exit', r))
    p.kill('SIGTERM')
    await exited
  }
  let proc: ChildProcess | undefined = await launch()
  const pub = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').trim().split(/\s+/)
  const hostKeyLine = `[127.0.0.1]:${port} ${pub[0]} ${pub[1]}`
  const knownHosts = join(dir, 'known_hosts')
  writeFileSync(knownHosts, hostKeyLine + '\n')
  return {
    port,
    user: userInfo().username,
    dir,
    identity: join(dir, 'user_ed25519'),
    knownHosts,
    hostKeyLine,
    async halt() {
      await end(proc)
      proc = undefined
    },
    async resume(opts = {}) {
      if (opts.newHostKey) {
        rmSync(join(dir, 'host_ed25519'))
        rmSync(join(dir, 'host_ed25519.pub'))
        keygen(join(dir, 'host_ed25519'))
      }
      proc = await launch()
    },
    log: () => log,
    async stop() {
      await end(proc)
      rmSync(dir, {recursive: true, force: true})
    },
  }
}
