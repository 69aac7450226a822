/** Admin routes: the daemon's tokens (ids, names, roles; never hashes or secrets). */
import type {FastifyInstance} from 'fastify'
import type {TokenFile} from '../tokens.js'

export function adminRoutes(app: FastifyInstance, tokens: TokenFile): void {
  app.get('/v1/tokens', {config: {role: 'admin'}}, async () => ({tokens: tokens.list().map(({hash: _h, ...t}) => t)}))
}
