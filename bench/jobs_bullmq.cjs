// BullMQ side of the job benchmark (bench/jobs.py starts it; not for production).
//
//   node bench/jobs_bullmq.cjs worker   one worker process, `concurrency` = the bench's threads
//   node bench/jobs_bullmq.cjs driver   fills the queue and sends probes on the bench's command
//
// The same three jobs as bench/jobs_worker.py: `noop`, `sleep` (BENCH_SLEEP_SECONDS) and `probe`
// (pushes "<job id> <epoch seconds>" onto bench:started:bullmq in the control DB). Workers wait
// at the same gate (BLPOP bench:go:bullmq) before they start consuming. BullMQ runs with its
// defaults (completed jobs are kept, like Hookyard's job records); bullmq is pinned by
// bench/jobs.py (npm install into bench/node_modules).
'use strict';

const { Queue, Worker } = require('bullmq');
const IORedis = require('ioredis');

const QUEUE = 'bench-jobs';
const env = process.env;
const port = Number(env.BENCH_REDIS_PORT);
const connection = { host: '127.0.0.1', port, db: Number(env.BENCH_BULL_DB) };
const control = () => new IORedis({ host: '127.0.0.1', port, db: Number(env.BENCH_CONTROL_DB),
  maxRetriesPerRequest: null });
const nowSeconds = () => (performance.timeOrigin + performance.now()) / 1000;

async function runWorker() {
  const ctl = control();
  const sleepMs = Number(env.BENCH_SLEEP_SECONDS || '0.05') * 1000;
  const worker = new Worker(QUEUE, async (job) => {
    if (job.name === 'sleep') {
      await new Promise((resolve) => setTimeout(resolve, sleepMs));
    } else if (job.name === 'probe') {
      await ctl.rpush('bench:started:bullmq', `${job.id} ${nowSeconds().toFixed(6)}`);
    }
    return null;
  }, { connection, concurrency: Number(env.BENCH_THREADS), autorun: false });
  worker.on('error', (err) => console.error('worker error', err));
  const stop = async () => {
    await worker.close();
    ctl.disconnect();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await worker.waitUntilReady();
  const gate = control();
  await gate.rpush('bench:ready:bullmq', String(process.pid));
  await gate.blpop('bench:go:bullmq', 600);
  gate.disconnect();
  worker.run();
}

async function runDriver() {
  const ctl = control();
  const queue = new Queue(QUEUE, { connection });
  await queue.waitUntilReady();
  await ctl.rpush('bench:bull:reply', JSON.stringify({ ready: true }));
  for (;;) {
    const popped = await ctl.blpop('bench:bull:cmd', 0);
    const cmd = JSON.parse(popped[1]);
    if (cmd.op === 'fill') {
      for (let done = 0; done < cmd.n; done += cmd.batch) {
        const size = Math.min(cmd.batch, cmd.n - done);
        await queue.addBulk(Array.from({ length: size }, () => ({ name: cmd.name, data: {} })));
      }
      await ctl.rpush('bench:bull:reply', JSON.stringify({ filled: cmd.n }));
    } else if (cmd.op === 'probe') {
      const t0 = nowSeconds();
      await queue.add('probe', {}, { jobId: cmd.id });
      await ctl.rpush('bench:bull:reply', JSON.stringify({ t0 }));
    } else if (cmd.op === 'quit') {
      await queue.close();
      ctl.disconnect();
      process.exit(0);
    }
  }
}

const mode = process.argv[2];
const run = { worker: runWorker, driver: runDriver }[mode];
if (!run) {
  console.error('usage: node bench/jobs_bullmq.cjs worker|driver');
  process.exit(2);
}
run().catch((err) => {
  console.error(err);
  process.exit(1);
});
