// ioredis against a real ringleader (RL_PORT, started by cluster.py): MULTI/EXEC and WATCH
// through its transaction API, blocking pops, and subscriber connections (channels on every
// server, patterns hearing every server).
'use strict';
const assert = require('node:assert/strict');
const test = require('node:test');
const Redis = require('ioredis');

const port = Number(process.env.RL_PORT);
const backendPorts = (process.env.RL_BACKEND_PORTS || '').split(',').map(Number);

// Resolves with the next `n` events `name` of `emitter`, or rejects after `ms`.
function nextEvents(emitter, name, n, ms = 5000) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${n} ${name}`)), ms);
    emitter.on(name, function listener(...args) {
      got.push(args);
      if (got.length === n) {
        clearTimeout(timer);
        emitter.off(name, listener);
        resolve(got);
      }
    });
  });
}

test('ioredis families through ringleader', async (t) => {
  assert.ok(port > 0, 'RL_PORT must be set (run through cluster.py)');
  const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  const other = new Redis({ host: '127.0.0.1', port });
  const sub = new Redis({ host: '127.0.0.1', port });
  const backends = backendPorts.map((p) => new Redis({ host: '127.0.0.1', port: p }));
  // Keys that live on backend `index` (found by writing through the proxy).
  async function keysOn(index, n, prefix) {
    const keys = [];
    for (let i = 0; keys.length < n; i++) {
      const key = `${prefix}${i}`;
      await r.set(key, 'probe');
      if ((await backends[index].exists(key)) === 1) keys.push(key);
      await r.del(key);
    }
    return keys;
  }
  try {
    await t.test('multi/exec', async () => {
      const [a, b] = await keysOn(0, 2, 'js:tx');
      const res = await r.multi().set(a, '1').incr(a).rpush(b, 'x').lrange(b, 0, -1).exec();
      assert.deepEqual(res, [[null, 'OK'], [null, 2], [null, 1], [null, ['x']]]);
    });

    await t.test('a transaction across servers is refused', async () => {
      const [a] = await keysOn(0, 1, 'js:x0');
      const [b] = await keysOn(1, 1, 'js:x1');
      await assert.rejects(r.multi().set(a, '1').set(b, '2').exec(), /EXECABORT/);
      assert.equal(await r.get(a), null);
      assert.equal(await r.ping(), 'PONG');
    });

    await t.test('watch: a conflict makes exec give null', async () => {
      const [key] = await keysOn(2, 1, 'js:w');
      await r.set(key, '1');
      await r.watch(key);
      assert.equal(await r.get(key), '1');
      await other.set(key, '9');
      assert.equal(await r.multi().set(key, '2').exec(), null);
      assert.equal(await r.get(key), '9');
      await r.watch(key);
      assert.deepEqual(await r.multi().set(key, '3').exec(), [[null, 'OK']]);
    });

    await t.test('blocking pop', async () => {
      assert.equal(await r.blpop('js:queue', 0.1), null);
      const popped = r.blpop('js:queue', 5);
      for (;;) {  // until the pop is blocked on a server (bounded by the test's timeout)
        const infos = await Promise.all(backends.map((b) => b.info('clients')));
        if (infos.some((i) => /blocked_clients:1/.test(i))) break;
      }
      assert.equal(await other.rpush('js:queue', 'job'), 1);
      assert.deepEqual(await popped, ['js:queue', 'job']);
    });

    await t.test('subscriber connection', async () => {
      const channels = [];
      for (let i = 0; i < 3; i++) channels.push((await keysOn(i, 1, 'js:ch'))[0]);
      assert.equal(await sub.subscribe(...channels), 3);
      assert.equal(await sub.psubscribe('js:pat.*'), 4);
      const messages = nextEvents(sub, 'message', 3);
      const pmessages = nextEvents(sub, 'pmessage', 3);
      for (const ch of channels) assert.equal(await other.publish(ch, `hi ${ch}`), 1);
      for (let i = 0; i < 3; i++) assert.equal(await backends[i].publish(`js:pat.${i}`, 'd'), 1);
      const got = (await messages).map(([ch, msg]) => `${ch}=${msg}`).sort();
      assert.deepEqual(got, channels.map((ch) => `${ch}=hi ${ch}`).sort());
      const pgot = (await pmessages).map(([pattern, ch, msg]) => `${pattern} ${ch}=${msg}`).sort();
      assert.deepEqual(pgot, [0, 1, 2].map((i) => `js:pat.* js:pat.${i}=d`));
      assert.equal(await sub.unsubscribe(channels[0]), 3);
      assert.equal(await other.publish(channels[0], 'gone'), 0);
      // (Named: ioredis resolves an argument-less unsubscribe only once nothing is left.)
      assert.equal(await sub.punsubscribe('js:pat.*'), 2);
    });
  } finally {
    for (const c of [r, other, sub, ...backends]) c.disconnect();
  }
});
