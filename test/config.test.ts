import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { InvalidParameterError } from "../src/errors.js";

describe("grpcPort", () => {
  it("is off unless set; a flag wins over KEEL_GRPC_PORT", () => {
    expect(loadConfig({ env: {} }).grpcPort).toBeUndefined();
    expect(loadConfig({ env: { KEEL_GRPC_PORT: "8001" } }).grpcPort).toBe(8001);
    expect(loadConfig({ flags: { grpcPort: "0" }, env: { KEEL_GRPC_PORT: "8001" } }).grpcPort).toBe(0);
  });

  it("refuses a port that is not an integer from 0 to 65535, naming the key", () => {
    expect(() => loadConfig({ flags: { grpcPort: "70000" }, env: {} })).toThrow(InvalidParameterError);
    expect(() => loadConfig({ env: { KEEL_GRPC_PORT: "grpc" } })).toThrow(
      /grpc-port: port "grpc" must be an integer from 0 to 65535/,
    );
  });
});
