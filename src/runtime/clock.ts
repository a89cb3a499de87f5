/** The current time as epoch milliseconds; injected so tests and domain rules control time. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
