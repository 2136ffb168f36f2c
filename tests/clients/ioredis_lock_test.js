// ioredis against ringleader's lock service (RL_PORT, started by `cluster.py --locks`), through
// `call` as an application would: a grant with its token, fenced writes, a holder evicted by
// LOCK.FORCERELEASE whose late fenced write is rejected (a rejected promise with the FENCED
// error), LOCK.FENCE binding a connection's writes, and release.
'use strict';
const assert = require('node:assert/strict');
const test = require('node:test');
const Redis = require('ioredis');

const port = Number(process.env.RL_PORT);

test('ioredis and ringleader locks', async (t) => {
  assert.ok(port > 0, 'RL_PORT must be set (run through cluster.py --locks)');
  const opts = { host: '127.0.0.1', port, maxRetriesPerRequest: 1 };
  const alice = new Redis(opts);
  const bob = new Redis(opts);
  try {
    await t.test('acquire, fenced write, release', async () => {
      const [token, validity] = await alice.call('LOCK.ACQUIRE', 'js:job', 'alice', 'PX', 10000);
      assert.ok(token > 0, `token ${token}`);
      assert.ok(validity > 9000 && validity <= 10000, `validity ${validity}`);
      assert.equal(await bob.call('LOCK.ACQUIRE', 'js:job', 'bob', 'PX', 1000), null);
      assert.equal(await alice.call('FENCED', 'js:job', token, 'SET', 'js:out', 'a'), 'OK');
      assert.equal(await alice.call('LOCK.CHECK', 'js:job', token), 1);
      assert.equal(await alice.call('LOCK.RELEASE', 'js:job', 'alice', token), 1);
      assert.equal(await alice.call('LOCK.RELEASE', 'js:job', 'alice', token), 0);
    });

    await t.test('an evicted holder cannot write', async () => {
      const [ta] = await alice.call('LOCK.ACQUIRE', 'js:acct', 'alice', 'PX', 60000);
      assert.equal(await alice.call('FENCED', 'js:acct', ta, 'SET', 'js:balance', 100), 'OK');
      assert.equal(await bob.call('LOCK.FORCERELEASE', 'js:acct'), 1);
      // Rejected at once, before anyone else holds the lock...
      await assert.rejects(alice.call('FENCED', 'js:acct', ta, 'INCRBY', 'js:balance', 1),
                           new RegExp(`^ReplyError: FENCED stale token ${ta} < \\d+ for lock js:acct`));
      const [tb] = await bob.call('LOCK.ACQUIRE', 'js:acct', 'bob', 'PX', 60000, 'WAIT', 5000);
      assert.ok(tb > ta, `bob's token ${tb} above alice's ${ta}`);
      // ...and after: bob binds his connection's writes to his token.
      assert.equal(await bob.call('LOCK.FENCE', 'js:acct', tb), 'OK');
      assert.equal(await bob.incrby('js:balance', 5), 105);
      await assert.rejects(alice.call('FENCED', 'js:acct', ta, 'SET', 'js:balance', 0),
                           new RegExp(`FENCED stale token ${ta} < ${tb} for lock js:acct`));
      assert.equal(await alice.get('js:balance'), '105');
      assert.equal(await bob.call('LOCK.FENCE', 'OFF'), 'OK');
      assert.equal(await bob.call('LOCK.RELEASE', 'js:acct', 'bob', tb), 1);
    });
  } finally {
    alice.disconnect();
    bob.disconnect();
  }
});
