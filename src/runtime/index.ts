export { systemClock, type Clock } from "./clock.js";
export { lineLogger, silentLogger, type Logger } from "./logger.js";
export { systemTimers, type Timers } from "./timers.js";
export { WorkerRpc, type WorkerReply } from "./worker-rpc.js";
