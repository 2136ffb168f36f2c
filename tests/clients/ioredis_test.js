// ioredis against a real ringleader (RL_PORT, started by cluster.py): connect with its ready
// check (INFO), pipelines, cross-server MGET/MSET, errors as rejected promises, no desync after.
'use strict';
const assert = require('node:assert/strict');
const test = require('node:test');
const Redis = require('ioredis');

const port = Number(process.env.RL_PORT);
const backendPorts = (process.env.RL_BACKEND_PORTS || '').split(',').map(Number);

test('ioredis through ringleader', async (t) => {
  assert.ok(port > 0, 'RL_PORT must be set (run through cluster.py)');
  const r = new Redis({ host: '127.0.0.1', port, enableReadyCheck: true, maxRetriesPerRequest: 1 });
  const backends = backendPorts.map((p) => new Redis({ host: '127.0.0.1', port: p }));
  try {
    await new Promise((resolve, reject) => {
      r.once('ready', resolve);
      r.once('error', reject);
    });

    await t.test('ping, set, get', async () => {
      assert.equal(await r.ping(), 'PONG');
      assert.equal(await r.set('js:a', 'héllo'), 'OK');
      assert.equal(await r.get('js:a'), 'héllo');
      assert.equal(await r.get('js:missing'), null);
    });

    await t.test('mset/mget across servers keep order', async () => {
      const keys = Array.from({ length: 200 }, (_, i) => `js:k${i}`);
      await r.mset(Object.fromEntries(keys.map((k) => [k, k.toUpperCase()])));
      const counts = await Promise.all(backends.map((b) => b.exists(...keys)));
      assert.equal(counts.reduce((a, b) => a + b, 0), 200);
      assert.ok(counts.every((c) => c > 0), `keys on every server: ${counts}`);
      const got = await r.mget(...keys, 'js:none');
      assert.deepEqual(got, [...keys.map((k) => k.toUpperCase()), null]);
      assert.equal(await r.del(...keys.slice(0, 10)), 10);
    });

    await t.test('pipeline', async () => {
      const p = r.pipeline();
      for (let i = 0; i < 500; i++) p.set(`js:p${i}`, i);
      for (let i = 0; i < 500; i++) p.incr(`js:p${i}`);
      const res = await p.exec();
      res.forEach(([err]) => assert.equal(err, null));
      assert.deepEqual(res.slice(500).map(([, v]) => v), Array.from({ length: 500 }, (_, i) => i + 1));
    });

    await t.test('errors surface and the connection stays in sync', async () => {
      await assert.rejects(r.call('NOSUCHCOMMAND', 'x'), /unknown command/);
      await r.set('js:str', 'v');
      await assert.rejects(r.lpush('js:str', 'x'), /WRONGTYPE/);
      const p = r.pipeline();
      p.set('js:e1', '1');
      p.lpush('js:str', 'x');
      p.get('js:e1');
      const res = await p.exec();
      assert.equal(res[0][1], 'OK');
      assert.match(String(res[1][0]), /WRONGTYPE/);
      assert.equal(res[2][1], '1');
      assert.equal(await r.get('js:str'), 'v');
    });
  } finally {
    r.disconnect();
    backends.forEach((b) => b.disconnect());
  }
});
