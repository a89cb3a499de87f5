import { describe, expect, it } from "vitest";
import { keelInProcess } from "./helpers.js";

describe("keel server --roles and --lease-seconds", () => {
  it("keel server --roles with an unknown role exits 2 with one line, before listening", async () => {
    const r = await keelInProcess([
      "server",
      "--port",
      "0",
      "--roles",
      "api,workers",
      "--backend-store-uri",
      "sqlite::memory:",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain('"workers" is not a role');
    expect(r.stdout).not.toContain("listening on");
  });

  it("keel server --lease-seconds outside 1–3600 exits 2 naming the flag's field", async () => {
    const r = await keelInProcess([
      "server",
      "--port",
      "0",
      "--lease-seconds",
      "0",
      "--backend-store-uri",
      "sqlite::memory:",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('lease-seconds = "0": must be a number of seconds from 1 to 3600');
  });
});
