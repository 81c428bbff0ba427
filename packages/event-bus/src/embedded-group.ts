/**
 * Consumer groups of the embedded bus. Kafka's model, in one process:
 * - each group has one worker per partition of each topic it reads; the worker hands the
 *   partition's messages, one at a time and in offset order, to the member that owns the
 *   partition (members split partitions: partition p goes to member p mod n, in join order);
 * - the worker commits offset+1 after `handle` resolves; on a throw it waits (backoff) and hands
 *   the same message again, so nothing after it in that partition is handled first;
 * - a member that stops receives nothing new; the message in its hands finishes (and commits),
 *   and the next owner (if any) carries on from the committed offset.
 */
import { interruptibleSleep, type RetryBackoff, retryDelay } from './backoff.ts';
import type { Log } from './embedded-log.ts';
import { Lookahead } from './lookahead.ts';
import { copyMessage } from './message.ts';
import type { Consumer, ConsumerOptions, DeliveredMessage } from './types.ts';

interface Member {
  options: ConsumerOptions;
  topics: Set<string>;
  stopping: AbortController;
  inFlight: Set<Promise<void>>;
  stopped?: Promise<void>;
}

interface Group {
  members: Member[];
  /** Next offset to read, per "topic/partition": Kafka's committed offsets. */
  committed: Map<string, number>;
  workers: Set<string>;
  /** Wakes workers waiting for data when membership changes. */
  changed: Set<() => void>;
}

export interface Groups {
  join(options: ConsumerOptions): Consumer;
  /** Stops every member of every group (bus close). */
  stopAll(): Promise<void>;
}

export function createGroups(log: Log, backoff: RetryBackoff): Groups {
  const groups = new Map<string, Group>();

  const groupOf = (id: string): Group => {
    let group = groups.get(id);
    if (!group) {
      group = { members: [], committed: new Map(), workers: new Set(), changed: new Set() };
      groups.set(id, group);
    }
    return group;
  };

  const notify = (group: Group) => {
    const waiting = [...group.changed];
    group.changed.clear();
    for (const wake of waiting) wake();
  };

  const ownerOf = (group: Group, topic: string, partition: number): Member | undefined => {
    const readers = group.members.filter((member) => member.topics.has(topic));
    return readers[partition % readers.length];
  };

  const waitForChange = async (group: Group, topic: string, partition: number) => {
    const append = log.nextAppend(topic, partition);
    let wake: () => void = () => {};
    const changed = new Promise<void>((resolve) => {
      wake = resolve;
    });
    group.changed.add(wake);
    await Promise.race([append.appended, changed]);
    append.cancel();
    group.changed.delete(wake);
  };

  /** Handles one message; commits only when handle resolves. Tracked so stop() can wait for it. */
  const deliver = (
    group: Group,
    member: Member,
    message: DeliveredMessage,
    key: string,
    prepared: Promise<unknown> | undefined,
  ): Promise<boolean> => {
    const attempt = (async () => {
      try {
        await member.options.handle(copyMessage(message), prepared);
      } catch (error) {
        try {
          member.options.onError?.(error, copyMessage(message));
        } catch {
          // A failing error callback must not turn a retry into a skip.
        }
        return false;
      }
      group.committed.set(key, Number(message.offset) + 1);
      return true;
    })();
    const tracked = attempt.then(() => undefined);
    member.inFlight.add(tracked);
    return attempt.finally(() => member.inFlight.delete(tracked));
  };

  /** The message at `position` and the ones after it that the lookahead's next take may start. */
  const readAhead = (topic: string, partition: number, position: number, lookahead: Lookahead<unknown>) => {
    const count = lookahead.reach() + 1;
    const messages: DeliveredMessage[] = [];
    for (let i = 0; i < count; i++) {
      const message = log.read(topic, partition, position + i);
      if (!message) break;
      messages.push(message);
    }
    return messages;
  };

  const runWorker = async (group: Group, topic: string, partition: number, first: Member) => {
    const key = `${topic}/${partition}`;
    // A group without a committed offset starts at the beginning or at the end, as Kafka does.
    let position =
      group.committed.get(key) ?? (first.options.fromBeginning ? log.start(topic, partition) : log.end(topic, partition));
    let failures = 0;
    // Prepared work belongs to the member that asked for it: a new owner starts afresh.
    let preparer: Member | undefined;
    let lookahead = new Lookahead<unknown>({});
    for (;;) {
      const owner = ownerOf(group, topic, partition);
      if (!owner) break;
      if (owner !== preparer) {
        preparer = owner;
        lookahead = new Lookahead(owner.options);
      }
      // Messages dropped past the retention cap are gone: carry on from the oldest kept.
      position = Math.max(position, log.start(topic, partition));
      const upcoming = readAhead(topic, partition, position, lookahead);
      if (upcoming.length === 0) {
        await waitForChange(group, topic, partition);
        continue;
      }
      // A retry does the prepared work again (the failure may have been an outage).
      const prepared = failures === 0 ? lookahead.take(upcoming, 0) : undefined;
      if (await deliver(group, owner, upcoming[0]!, key, prepared)) {
        position += 1;
        failures = 0;
      } else {
        failures += 1;
        await interruptibleSleep(retryDelay(failures, backoff), owner.stopping.signal);
      }
    }
    group.workers.delete(key);
  };

  const startWorkers = (group: Group, member: Member) => {
    for (const topic of member.topics) {
      const partitions = log.ensure(topic);
      for (let partition = 0; partition < partitions; partition++) {
        const key = `${topic}/${partition}`;
        if (group.workers.has(key)) continue;
        group.workers.add(key);
        void runWorker(group, topic, partition, member);
      }
    }
  };

  const stop = (group: Group, member: Member): Promise<void> => {
    if (!member.stopped) {
      member.stopping.abort();
      group.members = group.members.filter((other) => other !== member);
      notify(group);
      member.stopped = Promise.all(member.inFlight).then(() => undefined);
    }
    return member.stopped;
  };

  return {
    join(options) {
      const group = groupOf(options.groupId);
      const member: Member = {
        options,
        topics: new Set(options.topics),
        stopping: new AbortController(),
        inFlight: new Set(),
      };
      group.members.push(member);
      startWorkers(group, member);
      notify(group);
      return { stop: () => stop(group, member) };
    },
    async stopAll() {
      await Promise.all(
        [...groups.values()].flatMap((group) => group.members.map((member) => stop(group, member))),
      );
    },
  };
}
