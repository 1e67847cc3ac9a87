/**
 * Which release is current: the one unpinned shared tenants (and dedicated ones without a release of
 * their own) run. A release's code is read-only once published; only this pointer moves, so it lives
 * apart from the releases themselves: a file beside them embedded
 * (src/adapters/embedded/release-pointer.ts), one DynamoDB item on AWS, where the releases ship inside
 * the read-only function bundle (src/adapters/aws/release-pointer.ts).
 */
import { ReleasePointerError } from '../core/errors.ts';
import { RELEASE_ID_PATTERN } from '../core/release.ts';

// The port's shape is core's (core/release.ts): the release catalog of models/ holds one, and models/ sits
// below ports/.
export type { ReleasePointer } from '../core/release.ts';

/**
 * The release id a stored pointer holds, checked alike by every adapter: a value that is no release id
 * (a number, null, an empty or malformed string) throws ReleasePointerError naming `where`, never reads as
 * the built-in release.
 */
export function storedReleaseId(value: unknown, where: string, field: string): string {
  if (typeof value === 'string' && RELEASE_ID_PATTERN.test(value)) return value;
  const shown = JSON.stringify(value) ?? String(value);
  throw new ReleasePointerError(
    where,
    `its ${field} is ${shown.length > 60 ? `${shown.slice(0, 60)}…` : shown}, not a release id`,
  );
}
