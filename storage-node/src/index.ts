/** @leios/storage-node: persistence, node logic and relay sessions of a Leios storage node. */
export {};
