import t from 'tap';
import { type CommitOffset, PartitionCommits } from '../src/kafka-commits.ts';

/** A PartitionCommits on a clock the test moves, recording what it commits. */
function make(intervalMs: number, answers: boolean[] = []) {
  let now = 1_000;
  const commits: CommitOffset[] = [];
  const partition = new PartitionCommits(
    'orders',
    2,
    async (offset) => {
      commits.push(offset);
      return answers.shift() ?? true;
    },
    intervalMs,
    () => now,
  );
  return { partition, commits, advance: (ms: number) => (now += ms) };
}

t.test('nothing handled: not due and flush commits nothing', async (t) => {
  const { partition, commits, advance } = make(100);
  advance(1_000);
  t.equal(partition.due(), false);
  await partition.flush();
  t.same(commits, []);
});

t.test('due once the interval has passed since the batch began, then since the last commit', async (t) => {
  const { partition, commits, advance } = make(100);
  partition.handled('7');
  advance(99);
  t.equal(partition.due(), false, 'within the interval');
  advance(1);
  t.equal(partition.due(), true, 'at the interval');
  await partition.flush();
  t.same(commits, [{ topic: 'orders', partition: 2, offset: '8' }], 'the next offset to read: last handled + 1');
  t.equal(partition.due(), false, 'nothing left after a commit');
  partition.handled('8');
  t.equal(partition.due(), false, 'the interval counts from the last commit');
  advance(100);
  t.equal(partition.due(), true);
});

t.test('interval 0: due after every handled message', async (t) => {
  const { partition } = make(0);
  partition.handled('0');
  t.equal(partition.due(), true);
});

t.test('a flush commits the latest handled offset only, offsets past 2^53 included', async (t) => {
  const { partition, commits } = make(100);
  partition.handled('1');
  partition.handled('2');
  partition.handled('9007199254740993');
  await partition.flush();
  t.same(commits.map((c) => c.offset), ['9007199254740994']);
  await partition.flush();
  t.equal(commits.length, 1, 'a second flush has nothing to commit');
});

t.test('a failed commit keeps the offset for the next flush', async (t) => {
  const { partition, commits } = make(100, [false, true]);
  partition.handled('4');
  await partition.flush();
  await partition.flush();
  t.same(commits.map((c) => c.offset), ['5', '5'], 'tried again');
  await partition.flush();
  t.equal(commits.length, 2, 'committed: nothing more');
});

t.test('a message handled while a commit is in flight stays to commit', async (t) => {
  let release: (ok: boolean) => void = () => {};
  const commits: string[] = [];
  const partition = new PartitionCommits('orders', 0, (offset) => {
    commits.push(offset.offset);
    return new Promise<boolean>((resolve) => (release = resolve));
  }, 0);
  partition.handled('0');
  const flushing = partition.flush();
  partition.handled('1');
  release(true);
  await flushing;
  t.equal(partition.due(), true, '"1" is still to commit');
  const second = partition.flush();
  release(true);
  await second;
  t.same(commits, ['1', '2']);
});
