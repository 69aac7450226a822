// A throwaway OpenSSH sshd on 127.0.0.1 for the sync benchmark (same set-up as test/helpers/sshd.ts).
import {execFileSync, spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {connect, createServer} from 'node:net'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address()
      s.close(() => resolve(port))
    })
  })

export async function startSshd() {
  const dir = mkdtempSync(join(tmpdir(), 'steme-bench-sshd-'))
  for (const k of ['host', 'user']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, k)])
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user.pub')))
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', {recursive: true})
  const port = await freePort()
  const cfg = join(dir, 'sshd_config')
  writeFileSync(cfg, [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host')}`, `PidFile ${join(dir, 'pid')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'StrictModes no', 'PasswordAuthentication no', 'UsePAM no', 'LogLevel ERROR', ''].join('\n'))
  const proc = spawn(process.env.STEME_TEST_SSHD ?? '/usr/sbin/sshd', ['-D', '-e', '-f', cfg], {stdio: 'ignore'})
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const c = connect(port, '127.0.0.1', () => (c.end(), r(true)))
      c.on('error', () => r(false))
    })
    if (ok) break
    await new Promise((r) => setTimeout(r, 50))
  }
  const pub = readFileSync(join(dir, 'host.pub'), 'utf8').split(' ')
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${pub[0]} ${pub[1]}\n`)
  return {
    port,
    user: userInfo().username,
    identity: join(dir, 'user'),
    knownHosts: join(dir, 'known_hosts'),
    stop() {
      proc.kill()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}
