/**
 * The modes of DATA_DIR's folders and files (databases, objects, keys, tokens, spans): rules, kept here so
 * every layer that writes one (the embedded adapters, the local span store, the API's signing key, the
 * entry points) uses the same, and none imports an adapter for two numbers.
 */

/** Folders of DATA_DIR: only the server's user may list or enter them. */
export const PRIVATE_DIR_MODE = 0o700;
/** Files of DATA_DIR (databases, objects, keys, tokens, webhook secrets inside): owner read/write only. */
export const PRIVATE_FILE_MODE = 0o600;
