import {MemoryStore} from '../../src/adapters/memory.js'
import {storeContract} from '../contracts/store.js'

storeContract('memory', async () => ({store: new MemoryStore(), teardown: async () => {}}))
