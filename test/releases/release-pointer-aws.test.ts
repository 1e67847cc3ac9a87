import { DeleteCommand, type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoReleasePointer, RELEASE_POINTER_KEY } from '../../src/adapters/aws/release-pointer.ts';
import { openReleaseCatalog } from '../../src/models/release-catalog.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';

let aws: AwsEmulators;
beforeAll(async () => {
  aws = await startAwsEmulators();
});
afterAll(() => aws.stop());

/**
 * Holds back the answer to the next command `matches` picks, after the command has run (a put has committed):
 * `held` resolves once that answer is held, `release()` lets it go on, `remove()` releases it and takes the hold off.
 */
function holdOneAnswer(client: DynamoDBDocumentClient, matches: (input: object) => boolean) {
  let hold = true;
  let isHeld!: () => void;
  const held = new Promise<void>((resolve) => (isHeld = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      if (hold && matches(args.input as object)) {
        hold = false;
        isHeld();
        await released;
      }
      return result;
    },
    { step: 'initialize', name: 'holdOneAnswer', override: true },
  );
  return {
    held,
    release,
    remove() {
      release();
      client.middlewareStack.remove('holdOneAnswer');
    },
  };
}

const anyCommand = () => true;
const isPut = (input: object) => 'Item' in input;
const isRead = (input: object) => !isPut(input);

describe('the current release on DynamoDB (dynalite)', () => {
  it('counts every racing write: each is a compare-and-set, none overwrites another unseen', async () => {
    const tableName = await aws.createTable('views');
    const writes = Array.from({ length: 8 }, (_, i) => `r-${i}`);
    await Promise.all(
      writes.map((id) => createDynamoReleasePointer({ client: aws.dynamo, tableName }).setCurrent(id)),
    );
    const { Item } = await aws.dynamo.send(
      new GetCommand({ TableName: tableName, Key: RELEASE_POINTER_KEY, ConsistentRead: true }),
    );
    expect(Item?.version).toBe(writes.length);
    expect(writes).toContain(Item?.releaseId);
  });

  it('reuses a read for cacheMs, then sees another process change', async () => {
    const tableName = await aws.createTable('views');
    let clock = 1_000_000;
    const reader = createDynamoReleasePointer({ client: aws.dynamo, tableName, now: () => clock });
    expect(await reader.current()).toBe('builtin');
    await createDynamoReleasePointer({ client: aws.dynamo, tableName }).setCurrent('r-next');
    expect(await reader.current()).toBe('builtin');
    clock += 5000;
    expect(await reader.current()).toBe('r-next');
  });

  it('keeps its own change, not a read that was on its way while it was set', async () => {
    const tableName = await aws.createTable('views');
    let clock = 1_000_000;
    const pointer = createDynamoReleasePointer({ client: aws.dynamo, tableName, now: () => clock });
    await pointer.setCurrent('r-old');
    // The next read's answer (r-old, read at once) is held back until setCurrent('r-new') has committed.
    const answer = holdOneAnswer(aws.dynamo, anyCommand);
    try {
      clock += 5000; // past the cache of setCurrent's own value: current() reads
      const slow = pointer.current();
      await answer.held;
      await pointer.setCurrent('r-new');
      answer.release();
      // The read (r-old) ended after this process set r-new: neither it nor what comes next is the old one.
      expect(await slow).toBe('r-new');
      expect(await pointer.current()).toBe('r-new');
    } finally {
      answer.remove();
    }
  });

  it('keeps the newer of its own two changes, whichever answer arrives last', async () => {
    const tableName = await aws.createTable('views');
    const clock = 1_000_000;
    const pointer = createDynamoReleasePointer({ client: aws.dynamo, tableName, now: () => clock });
    await pointer.setCurrent('r-old');
    // The answer to the first put (r-a, committed as version 2) is held back until setCurrent('r-b') has
    // committed version 3 and returned: the answers arrive in the other order than the commits.
    const answer = holdOneAnswer(aws.dynamo, isPut);
    try {
      const first = pointer.setCurrent('r-a');
      await answer.held;
      await pointer.setCurrent('r-b');
      answer.release();
      await first;
      const { Item } = await aws.dynamo.send(
        new GetCommand({ TableName: tableName, Key: RELEASE_POINTER_KEY, ConsistentRead: true }),
      );
      expect(Item?.releaseId).toBe('r-b');
      // On the old pointer the late answer of r-a replaced r-b in the cache: this process ran r-a for cacheMs.
      expect(await pointer.current()).toBe('r-b');
    } finally {
      answer.remove();
    }
  });

  it('a read that started after another read but answered first is not replaced by the older answer', async () => {
    const tableName = await aws.createTable('views');
    let clock = 1_000_000;
    const pointer = createDynamoReleasePointer({ client: aws.dynamo, tableName, now: () => clock });
    const other = createDynamoReleasePointer({ client: aws.dynamo, tableName });
    await other.setCurrent('r-old');
    const answer = holdOneAnswer(aws.dynamo, isRead);
    try {
      const slow = pointer.current(); // reads r-old, answer held
      await answer.held;
      await other.setCurrent('r-new'); // another process's change
      clock += 5000;
      expect(await pointer.current()).toBe('r-new'); // a read after the change
      answer.release();
      await slow;
      // The slow read's older answer, arriving last, must not replace r-new for another cacheMs.
      expect(await pointer.current()).toBe('r-new');
    } finally {
      answer.remove();
    }
  });

  it('follows the item deleted and made anew (its versions start again) once its cache ends', async () => {
    const tableName = await aws.createTable('views');
    let clock = 1_000_000;
    const pointer = createDynamoReleasePointer({ client: aws.dynamo, tableName, now: () => clock });
    for (const id of ['r-1', 'r-2', 'r-3']) await pointer.setCurrent(id);
    await aws.dynamo.send(new DeleteCommand({ TableName: tableName, Key: RELEASE_POINTER_KEY }));
    await createDynamoReleasePointer({ client: aws.dynamo, tableName }).setCurrent('r-fresh');
    clock += 5000;
    expect(await pointer.current()).toBe('r-fresh');
  });

  it('is the catalog’s pointer when given: the release folder stays untouched', async () => {
    const tableName = await aws.createTable('views');
    const dir = '/nonexistent-read-only-bundle';
    const catalog = openReleaseCatalog(dir, createDynamoReleasePointer({ client: aws.dynamo, tableName }));
    await catalog.setCurrent('r-1');
    expect(await catalog.current()).toBe('r-1');
  });
});
