/**
 * Which release is current: the one unpinned shared tenants (and dedicated ones without a release of
 * their own) run. A release's code is read-only once published; only this pointer moves, so it lives
 * apart from the releases themselves: a file beside them embedded
 * (src/adapters/embedded/release-pointer.ts), one DynamoDB item on AWS, where the releases ship inside
 * the read-only function bundle (src/adapters/aws/release-pointer.ts).
 */
export interface ReleasePointer {
  /** The current release's id; `builtin` (BUILTIN_RELEASE) before any release was made current. */
  current(): Promise<string>;
  /** Makes `id` current. The caller checks the release exists; a reader sees the old id or the new one. */
  setCurrent(id: string): Promise<void>;
}
