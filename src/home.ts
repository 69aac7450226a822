/** The user's home and config directories, and what to say when there are none (a container user with no HOME and no passwd entry). */
import {userInfo} from 'node:os'
import {isAbsolute, join} from 'node:path'

/**
 * The home directory: HOME when it is an absolute path, else the password database's. Undefined
 * when neither gives one: a relative or empty HOME is not a home, or files meant for it would land
 * in whatever directory steme runs in.
 */
export function homeDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.HOME !== undefined && env.HOME !== '') return isAbsolute(env.HOME) ? env.HOME : undefined
  try {
    const dir = userInfo().homedir
    return dir && isAbsolute(dir) ? dir : undefined
  } catch {
    // No entry for this user id in the password database.
    return undefined
  }
}

/** Why homeDir() found none, for messages: what HOME is, and whether the password database knows this user. */
export function whyNoHome(env: NodeJS.ProcessEnv = process.env): string {
  // An empty HOME is what steme sets where there is none (see bin/run.js): to the user it was not set.
  const home = env.HOME === undefined || env.HOME === '' ? 'HOME is not set' : 'HOME is not an absolute path'
  let known = true
  try {
    userInfo()
  } catch {
    known = false
  }
  const uid = process.getuid?.()
  return known ? home : `${home}, and user id ${uid ?? '?'} has no entry in the password database`
}

/**
 * XDG_CONFIG_HOME when it is an absolute path (the XDG spec has relative values ignored), else
 * ~/.config; undefined when there is no home to put it in.
 */
export function configHome(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const xdg = env.XDG_CONFIG_HOME
  if (xdg && isAbsolute(xdg)) return xdg
  const home = homeDir(env)
  return home === undefined ? undefined : join(home, '.config')
}
