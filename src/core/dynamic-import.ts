/**
 * The name under which a process may provide `import()` for release modules: a prebuilt bundle run from
 * V8's code cache cannot call `import()` itself (Node 20 loses a cached script's dynamic-import callback:
 * ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), so its starter sets this (src/runtime/code-cache.ts).
 */
export const DYNAMIC_IMPORT = Symbol.for('silopool.dynamicImport');

/** `import()` of a release's ES module: the process's own where it provides one, else the language's. */
export function importModule(url: string): Promise<unknown> {
  const provided = (globalThis as { [DYNAMIC_IMPORT]?: (url: string) => Promise<unknown> })[DYNAMIC_IMPORT];
  return provided ? provided(url) : import(url);
}
