export { systemClock, type Clock } from "./clock.js";
export { deferred, type Deferred } from "./deferred.js";
export { whileLeased, type Lease, type LeaseFactory, type LeaseGrant } from "./lease.js";
export { lineLogger, silentLogger, type Logger } from "./logger.js";
export { SerialQueue } from "./serial-queue.js";
export { systemTimers, type Timers } from "./timers.js";
export { WorkerRpc, type WorkerReply } from "./worker-rpc.js";
