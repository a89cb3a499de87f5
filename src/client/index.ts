export { KeelClient } from "./client.js";
export type { FetchLike, KeelClientOptions, SearchRequest, SearchRunsRequest } from "./client.js";
export type * from "./types.js";
export type * from "./features-json.js";
