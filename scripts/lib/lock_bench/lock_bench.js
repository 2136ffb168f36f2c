// One round of the lock benchmark (driven by scripts/lib/lock_bench.py, which starts the servers):
// the same workloads against ringleader's LOCK.* (RL_PORT), node-redlock 4.2 over the same three
// masters (MASTER_PORTS) and, when ETCD_ENDPOINTS is set, etcd3's lock; prints one JSON object.
//
//   sequential   one client, acquire+release pairs on rotating names: p50/p99 (ms) and pairs/s
//   concurrent   WORKERS clients, each its own connections, on distinct names: pairs/s
//   handoff      HOT clients contending on one lock, each releasing at once: handoffs/s
//   fenced       one client, SET against FENCED name token SET through ringleader: p50 and ops/s
'use strict';
const Redis = require('ioredis');
const Redlock = require('redlock');

const rlPort = Number(process.env.RL_PORT);
const masterPorts = process.env.MASTER_PORTS.split(',').map(Number);
const etcdEndpoints = process.env.ETCD_ENDPOINTS ? process.env.ETCD_ENDPOINTS.split(',') : [];
const seconds = Number(process.env.SECONDS_PER_CASE || 3);
const workers = Number(process.env.WORKERS || 50);
const hot = Number(process.env.HOT || 20);
const only = new Set((process.env.ONLY || 'ringleader,redlock,etcd').split(','));
const TTL_MS = 10000;

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// Runs pair() back to back for `seconds`; latency in ms.
async function timedLoop(pair, stopAt, latencies) {
  let n = 0;
  while (performance.now() < stopAt) {
    const t0 = performance.now();
    await pair(n++);
    if (latencies) latencies.push(performance.now() - t0);
  }
  return n;
}

function summary(latencies, count, elapsedMs) {
  latencies.sort((a, b) => a - b);
  return {
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    per_s: (count * 1000) / elapsedMs,
  };
}

// A system under test: connect() gives one worker's client; pair(client, name, owner) takes and
// gives back a lock once; waitPair(client, name, owner) blocks until it holds the lock.
const systems = {
  ringleader: {
    connect: () => new Redis({ port: rlPort, maxRetriesPerRequest: 0, enableOfflineQueue: true }),
    async pair(c, name, owner) {
      const grant = await c.call('LOCK.ACQUIRE', name, owner, 'PX', TTL_MS);
      if (grant === null) throw new Error(`ringleader: ${name} not granted`);
      await c.call('LOCK.RELEASE', name, owner, grant[0]);
    },
    async waitPair(c, name, owner) {
      for (;;) {
        const grant = await c.call('LOCK.ACQUIRE', name, owner, 'PX', TTL_MS, 'WAIT', 10000);
        if (grant !== null) return c.call('LOCK.RELEASE', name, owner, grant[0]);
      }
    },
    close: (c) => c.disconnect(),
  },
  redlock: {
    connect() {
      const clients = masterPorts.map((port) => new Redis({ port, maxRetriesPerRequest: 0 }));
      // No retries for the uncontended cases; the hot-lock case retries (below).
      return {
        clients,
        once: new Redlock(clients, { driftFactor: 0.01, retryCount: 0 }),
        retrying: new Redlock(clients, { driftFactor: 0.01, retryCount: -1, retryDelay: 5,
                                         retryJitter: 5 }),
      };
    },
    async pair(c, name) {
      const lock = await c.once.lock(name, TTL_MS);
      await lock.unlock();
    },
    async waitPair(c, name) {
      const lock = await c.retrying.lock(name, TTL_MS);
      await lock.unlock();
    },
    close: (c) => c.clients.forEach((r) => r.disconnect()),
  },
  etcd: {
    connect() {
      const { Etcd3 } = require('etcd3');
      return new Etcd3({ hosts: etcdEndpoints.map((e) => `http://${e}`) });
    },
    async pair(c, name) {
      const lock = await c.lock(name).ttl(Math.ceil(TTL_MS / 1000)).acquire();
      await lock.release();
    },
    // etcd3's lock is a try-lock (a lease and a put if the key is absent): retry as redlock does.
    async waitPair(c, name) {
      const { EtcdLockFailedError } = require('etcd3');
      for (;;) {
        try {
          return await this.pair(c, name);
        } catch (e) {
          if (!(e instanceof EtcdLockFailedError)) throw e;
          await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 5));
        }
      }
    },
    close: (c) => c.close(),
  },
};

async function sequential(sys) {
  const c = sys.connect();
  try {
    await sys.pair(c, 'bench:warm', 'w');
    const lat = [];
    const t0 = performance.now();
    const n = await timedLoop((i) => sys.pair(c, `bench:seq:${i % 1000}`, 'seq'),
                              t0 + seconds * 1000, lat);
    return summary(lat, n, performance.now() - t0);
  } finally {
    sys.close(c);
  }
}

async function concurrent(sys) {
  const clients = Array.from({ length: workers }, () => sys.connect());
  try {
    await Promise.all(clients.map((c, w) => sys.pair(c, `bench:warm:${w}`, `w${w}`)));
    const t0 = performance.now();
    const stopAt = t0 + seconds * 1000;
    const counts = await Promise.all(clients.map((c, w) =>
      timedLoop((i) => sys.pair(c, `bench:con:${w}:${i % 100}`, `w${w}`), stopAt, null)));
    const n = counts.reduce((a, b) => a + b, 0);
    return { per_s: (n * 1000) / (performance.now() - t0) };
  } finally {
    clients.forEach((c) => sys.close(c));
  }
}

async function handoff(sys) {
  const clients = Array.from({ length: hot }, () => sys.connect());
  try {
    await Promise.all(clients.map((c, w) => sys.pair(c, `bench:warm:${w}`, `h${w}`)));
    const t0 = performance.now();
    const stopAt = t0 + seconds * 1000;
    const counts = await Promise.all(clients.map((c, w) =>
      timedLoop(() => sys.waitPair(c, 'bench:hot', `h${w}`), stopAt, null)));
    const n = counts.reduce((a, b) => a + b, 0);
    return { per_s: (n * 1000) / (performance.now() - t0) };
  } finally {
    clients.forEach((c) => sys.close(c));
  }
}

async function fenced() {
  const c = systems.ringleader.connect();
  try {
    const [token] = await c.call('LOCK.ACQUIRE', 'bench:fence', 'f', 'PX', 600000);
    const run = async (op) => {
      const lat = [];
      const t0 = performance.now();
      const n = await timedLoop(op, t0 + seconds * 1000, lat);
      return summary(lat, n, performance.now() - t0);
    };
    const plain = await run((i) => c.set(`bench:f:${i % 1000}`, 'v'));
    const fence = await run((i) => c.call('FENCED', 'bench:fence', token, 'SET',
                                          `bench:f:${i % 1000}`, 'v'));
    await c.call('LOCK.RELEASE', 'bench:fence', 'f', token);
    return { plain, fenced: fence };
  } finally {
    c.disconnect();
  }
}

(async () => {
  const out = {};
  for (const [name, sys] of Object.entries(systems)) {
    if (!only.has(name) || (name === 'etcd' && etcdEndpoints.length === 0)) continue;
    out[name] = {
      sequential: await sequential(sys),
      concurrent: await concurrent(sys),
      handoff: await handoff(sys),
    };
  }
  if (only.has('ringleader')) out.fenced_set = await fenced();
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
