import { createRequire } from 'node:module';
import { Partitioners } from 'kafkajs';
import t from 'tap';
import { murmur2, partitionForKey } from '../src/murmur2.ts';

t.test("murmur2 matches Kafka's own test vectors", async (t) => {
  // From Apache Kafka's UtilsTest.testMurmur2.
  const vectors: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, hash] of vectors) t.equal(murmur2(Buffer.from(key)), hash, key);
});

t.test("murmur2 and the partition agree with kafkajs' DefaultPartitioner", async (t) => {
  const require = createRequire(import.meta.url);
  const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = [0, 1, 2, 3, 4].map((partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
  const mismatches: string[] = [];
  for (let i = 0; i < 500; i++) {
    const key = `order-${i}-${'é'.repeat(i % 7)}`;
    if (murmur2(Buffer.from(key)) !== kafkajsMurmur2(Buffer.from(key))) mismatches.push(`hash of ${key}`);
    const expected = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
    if (partitionForKey(key, 5) !== expected) mismatches.push(`partition of ${key}`);
  }
  t.same(mismatches, [], '500 keys: same hash, same partition');
  t.equal(partitionForKey('', 3), (murmur2(Buffer.alloc(0)) & 0x7fffffff) % 3, 'empty key');
});
