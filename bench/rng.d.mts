/** Types for rng.mjs, which tests import too. */
export declare function rng(seed: number): () => number
