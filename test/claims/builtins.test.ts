import {describe, expect, it} from 'vitest'
import {dockerfile, envFiles, nodeVersion, packageJson, tsconfig} from '../../src/claims/builtins.js'

const pick = (obs: {predicate: string; value: unknown; line?: number}[]) => Object.fromEntries(obs.map((o) => [o.predicate, o.value]))

describe('built-in extractors', () => {
  it('reads package.json name, version, engines and dependency versions', () => {
    const text = JSON.stringify({name: 'x', version: '1.2.3', engines: {node: '>=20'}, dependencies: {react: '^19'}, devDependencies: {'@types/node': '20.1.0'}}, null, 2)
    const obs = packageJson.extract('package.json', text)
    expect(obs.every((o) => o.subject === 'repo:package')).toBe(true)
    expect(pick(obs)).toEqual({name: 'x', version: '1.2.3', 'engines.node': '>=20', 'dependencies.react': '^19', 'devDependencies.@types/node': '20.1.0'})
    expect(obs.find((o) => o.predicate === 'version')!.line).toBe(3)
    expect(packageJson.extract('packages/a/package.json', text)[0].subject).toBe('repo:package:packages/a')
    expect(packageJson.wants('node_modules/x/package.json')).toBe(false)
  })

  it('reads tsconfig compilerOptions through comments and trailing commas', () => {
    const obs = tsconfig.extract('tsconfig.json', '{\n  // strict\n  "compilerOptions": {\n    "strict": true,\n  },\n}\n')
    expect(obs).toEqual([{subject: 'repo:tsconfig', predicate: 'compilerOptions.strict', value: true, file: 'tsconfig.json', line: 4, via: 'builtin:tsconfig'}])
    expect(tsconfig.wants('tsconfig.build.json')).toBe(true)
    expect(tsconfig.extract('tsconfig.build.json', '{"compilerOptions":{"strict":false}}')[0].subject).toBe('repo:tsconfig:tsconfig.build.json')
  })

  it('reads .nvmrc and .node-version', () => {
    expect(nodeVersion.extract('.nvmrc', '\n# lts\n20.11.1\n')).toMatchObject([{subject: 'repo:node', predicate: 'version', value: '20.11.1', line: 3}])
    expect(nodeVersion.wants('web/.node-version')).toBe(true)
  })

  it('reads Dockerfile base images, skipping references to earlier stages', () => {
    const obs = dockerfile.extract('Dockerfile', 'FROM --platform=linux/amd64 node:20 AS build\nRUN x\nFROM build AS test\nfrom gcr.io/distroless/nodejs20\n')
    expect(obs.filter((o) => o.predicate === 'image').map((o) => o.value)).toEqual(['node:20', 'gcr.io/distroless/nodejs20'])
    expect(obs.find((o) => o.predicate === 'base_image')).toMatchObject({value: 'gcr.io/distroless/nodejs20', line: 4})
  })

  it('reads only real Dockerfile instructions: continuations joined, comments and heredoc bodies skipped', () => {
    const base = (text: string) => dockerfile.extract('Dockerfile', text).find((o) => o.predicate === 'base_image')
    // Continuation lines of a RUN are its arguments, never a FROM of their own.
    expect(base('FROM gcr.io/distroless/nodejs20\nRUN psql -c "SELECT 1 \\\n    FROM users"\n')).toMatchObject({value: 'gcr.io/distroless/nodejs20', line: 1})
    expect(base('FROM node:20\nRUN apt-get install -y curl \\\n  # a comment inside\n\n  FROM gcr.io/distroless/static\n')).toMatchObject({value: 'node:20'})
    expect(base('FROM \\\n  gcr.io/distroless/nodejs20 \\\n  AS run\n')).toMatchObject({value: 'gcr.io/distroless/nodejs20', line: 2})
    expect(base('# escape=`\nFROM node:20\nRUN echo `\n  FROM evil\n')).toMatchObject({value: 'node:20'})
    // Heredoc bodies, in every quoting, and two on one line.
    const heredocs = 'FROM node:20\nRUN <<EOF\nFROM a\nEOF\nCOPY <<-"X" <<\'Y\' /etc/\n\tFROM b\n\tX\nFROM c\nY\nRUN echo "<<EOF" && cat <<<here\nFROM d\n'
    expect(dockerfile.extract('Dockerfile', heredocs).filter((o) => o.predicate === 'image').map((o) => [o.value, o.line])).toEqual([['node:20', 1], ['d', 11]])
  })

  it('follows the final stage back through earlier stages to its external image', () => {
    const obs = dockerfile.extract('Dockerfile', 'FROM gcr.io/distroless/nodejs20 AS base\nFROM node:20 AS build\nFROM base AS mid\nFROM --platform=$BUILDPLATFORM MID\n')
    expect(obs.find((o) => o.predicate === 'base_image')).toMatchObject({value: 'gcr.io/distroless/nodejs20', line: 1})
    expect(obs.filter((o) => o.predicate === 'image').map((o) => o.value)).toEqual(['gcr.io/distroless/nodejs20', 'node:20'])
  })

  describe('Dockerfile ARGs in FROM', () => {
    const run = (text: string) => {
      const warnings: string[] = []
      const obs = dockerfile.extract('Dockerfile', text, (w) => warnings.push(w))
      const base = obs.find((o) => o.predicate === 'base_image')
      return {base: base && [base.value, base.line], images: obs.filter((o) => o.predicate === 'image').map((o) => o.value), warnings}
    }

    it('expands the defaults of ARGs declared before the first FROM, in every form Docker allows', () => {
      const multi = [
        'ARG NODE_VERSION=20.11',
        'ARG DEBIAN=bookworm',
        '',
        'FROM node:${NODE_VERSION}-${DEBIAN}-slim AS build',
        'WORKDIR /app',
        'RUN npm ci && npm run build',
        '',
        'FROM gcr.io/distroless/nodejs$NODE_VERSION-debian12',
        'COPY --from=build /app/dist /app',
      ].join('\n')
      expect(run(multi)).toEqual({base: ['gcr.io/distroless/nodejs20.11-debian12', 8], images: ['node:20.11-bookworm-slim', 'gcr.io/distroless/nodejs20.11-debian12'], warnings: []})
      // ${X:-default} and ${X:+alternative}, for an ARG with a default, one without, and one set to nothing.
      expect(run('ARG NODE\nFROM node:${NODE:-20}-alpine\n').base).toEqual(['node:20-alpine', 2])
      expect(run('ARG NODE=18\nFROM node:${NODE:-20}-alpine\n').base).toEqual(['node:18-alpine', 2])
      expect(run('ARG NODE=\nFROM node:${NODE:-20}\n').base).toEqual(['node:20', 2])
      expect(run('ARG TAG=22\nFROM node${TAG:+:$TAG}\n').base).toEqual(['node:22', 2])
      expect(run('ARG TAG\nFROM node${TAG:+:$TAG}\n').base).toEqual(['node', 2])
      // Several in one ARG, quoted, a default built from an earlier ARG, a registry prefix, a stage named by an ARG.
      const built = 'ARG REGISTRY="registry.example.com" NODE=\'20\'\nARG IMAGE=${REGISTRY}/node:${NODE}\nFROM $IMAGE AS base\nFROM base AS app\n'
      expect(run(built)).toEqual({base: ['registry.example.com/node:20', 3], images: ['registry.example.com/node:20'], warnings: []})
      expect(run('ARG FINAL=run\nFROM node:20 AS run\nFROM ${FINAL}\n')).toMatchObject({base: ['node:20', 2], images: ['node:20']})
      // --platform is a flag, not the image.
      expect(run('ARG NODE=20\nFROM --platform=$BUILDPLATFORM node:${NODE}\n').base).toEqual(['node:20', 2])
    })

    it('skips, with a warning saying why, a FROM whose image needs a build-arg or an ARG it cannot see', () => {
      const noDefault = run('ARG NODE\nFROM node:${NODE}-slim\n')
      expect(noDefault).toEqual({base: undefined, images: [], warnings: ['Dockerfile:2: FROM node:${NODE}-slim: $NODE is an ARG with no default, so its value would come from --build-arg (not known offline): skipped']})
      expect(run('ARG NODE\nFROM node:$NODE\n').warnings).toHaveLength(1)
      // An ARG declared after the first FROM belongs to that stage: Docker does not expand it in a later FROM.
      const scoped = run('FROM node:20 AS build\nARG DISTROLESS=nodejs20\nFROM gcr.io/distroless/${DISTROLESS}\n')
      expect(scoped).toEqual({base: undefined, images: ['node:20'], warnings: ['Dockerfile:3: FROM gcr.io/distroless/${DISTROLESS}: $DISTROLESS is not declared by an ARG before the first FROM (only those reach FROM lines): skipped']})
      // A default built from an ARG without one is not known either; nor is a stage built on an unknown one.
      const chain = run('ARG NODE\nARG BASE=node:${NODE}\nFROM ${BASE} AS build\nFROM build AS test\n')
      expect(chain).toMatchObject({base: undefined, images: []})
      expect(chain.warnings).toEqual(['Dockerfile:3: FROM ${BASE}: $NODE is an ARG with no default, so its value would come from --build-arg (not known offline): skipped'])
      // The builder's platform, an expansion steme does not evaluate, and nothing at all.
      expect(run('FROM node:20-${TARGETARCH}\n').warnings[0]).toContain('$TARGETARCH is set by the builder for the platform it builds (not known offline)')
      expect(run('ARG V=20.1\nFROM node:${V%%.*}\n').warnings[0]).toContain('${V%%.*} is an expansion steme does not evaluate')
      expect(run('ARG TAG\nFROM ${TAG:+node}\n').warnings[0]).toContain('it expands to nothing')
    })
  })

  it('observes .env files by presence, examples apart', () => {
    expect(envFiles.wants('config/.env.production')).toBe(true)
    expect(envFiles.wants('environment.ts')).toBe(false)
    expect(envFiles.extract('.env', '')[0]).toMatchObject({subject: 'repo:env', predicate: 'present', value: '.env'})
    expect(envFiles.extract('.env.example', '')[0].predicate).toBe('example_present')
  })
})
