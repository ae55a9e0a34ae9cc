// dynalite ships no types: the small part of its API this project uses.
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** Folder for a persistent LevelDB store; in memory when absent. */
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
  }

  function dynalite(options?: DynaliteOptions): Server;
  export = dynalite;
}

// dynalite's storage layer, used to check that a folder opens before serving it.
declare module 'dynalite/db' {
  interface DynaliteStore {
    db: { open(): Promise<void>; close(): Promise<void> };
  }
  export function create(options: { path?: string }): DynaliteStore;
}
