/**
 * ConsumerOptions.prepare, run ahead: one Lookahead per partition in hand. `take` gives the
 * prepared promise of the message about to be handled and keeps `prepare` running for the messages
 * after it, at most `depth` ahead. It refills by halves (when half the window is used up, the next
 * half starts in one go) rather than one message per take: work started together can be batched
 * by whoever does it (a signature pool sends one message to its thread per event-loop turn). An
 * empty window starts with a quarter of it, so a new batch's first messages go first. Both
 * adapters use it: Kafka over a fetched batch, the embedded bus over its log.
 */
import { copyMessage } from './message.ts';
import type { ConsumerOptions, DeliveredMessage } from './types.ts';

export const DEFAULT_LOOKAHEAD = 32;

const ignore = () => {};

export class Lookahead<P> {
  readonly #prepare: ((message: DeliveredMessage) => Promise<P>) | undefined;
  readonly #depth: number;
  /** Prepared, not yet taken, by offset. */
  readonly #started = new Map<string, Promise<P>>();

  constructor(options: Pick<ConsumerOptions<P>, 'prepare' | 'lookahead'>) {
    this.#prepare = options.prepare;
    this.#depth = options.lookahead ?? DEFAULT_LOOKAHEAD;
  }

  /**
   * The prepared promise of `messages[index]`, the message about to be handled (undefined without
   * prepare). When half the window or less is prepared, first starts `prepare` for the messages up
   * to `depth` after it. `messages`: the partition's messages in offset order, as far as the
   * adapter holds them.
   */
  take(messages: readonly DeliveredMessage[], index: number): Promise<P> | undefined {
    if (this.#prepare === undefined || index >= messages.length) return undefined;
    const end = Math.min(messages.length, index + this.reach() + 1);
    for (let i = index; i < end; i++) this.#start(messages[i]!);
    const offset = messages[index]!.offset;
    const prepared = this.#started.get(offset);
    this.#started.delete(offset);
    return prepared;
  }

  /**
   * How many messages after the one about to be handled the next take() may start: none while
   * more than half the window after it is prepared; a quarter of it for an empty window (a new
   * batch: the partitions' first messages, all fetched at once, get their work done before the
   * rest of their windows queues behind it); else the whole window. An adapter need not read
   * further.
   */
  reach(): number {
    if (this.#prepare === undefined) return 0;
    const size = this.#started.size;
    if (size === 0) return Math.ceil(this.#depth / 4);
    // `size` counts the message about to be handled as well as those prepared after it. Counting
    // only the latter, a refill starts exactly half a window: 16 checks make one message to a
    // signature pool's thread, where 17 made two (16 + 1), and each message costs the event loop
    // a thread's wake-up and answer (bench/README.md, "Session 8").
    return size - 1 > this.#depth / 2 ? 0 : this.#depth;
  }

  /** Drops what was prepared and not taken (the messages go to another owner, or come again). */
  clear(): void {
    this.#started.clear();
  }

  #start(message: DeliveredMessage): void {
    if (this.#started.has(message.offset)) return;
    let prepared: Promise<P>;
    try {
      prepared = Promise.resolve(this.#prepare!(copyMessage(message)));
    } catch (error) {
      prepared = Promise.reject(error);
    }
    // Handled here so a message dropped by clear() never raises an unhandled rejection; the
    // promise itself still rejects for the handle that awaits it.
    prepared.catch(ignore);
    this.#started.set(message.offset, prepared);
  }
}
