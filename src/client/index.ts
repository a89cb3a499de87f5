export { KeelClient } from "./client.js";
export type { FetchLike, KeelClientOptions, SearchRequest, SearchRunsRequest } from "./client.js";
/** The wire types, for the client's users. */
export type * from "../wire/index.js";
