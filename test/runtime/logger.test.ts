import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { lineLogger, silentLogger, type Logger } from "../../src/runtime/index.js";

describe("Logger", () => {
  it("is satisfied by Fastify's (pino's) logger as it is", async () => {
    const lines: string[] = [];
    const app = Fastify({ logger: { level: "info", stream: { write: (l: string) => void lines.push(l) } } });
    const logger: Logger = app.log;
    logger.error({ err: new Error("disk full") }, "inference log append failed");
    expect(JSON.parse(lines[0] ?? "{}")).toMatchObject({
      level: 50,
      msg: "inference log append failed",
      err: { message: "disk full" },
    });
    await app.close();
  });

  it("lineLogger writes info to out, warn and error to err, with the error's message", () => {
    const out: string[] = [];
    const err: string[] = [];
    const logger = lineLogger(
      (l) => out.push(l),
      (l) => err.push(l),
    );
    logger.info({ rows: 10 }, "monitor loans hourly window: 10 rows");
    logger.warn({}, "alert a1: slack delivery failed");
    logger.error({ err: new Error("no such table") }, "serving: registry sync failed");
    logger.debug({}, "dropped");
    expect(out).toEqual(["monitor loans hourly window: 10 rows"]);
    expect(err).toEqual(["alert a1: slack delivery failed", "serving: registry sync failed: no such table"]);
  });

  it("silentLogger accepts every level", () => {
    expect(() => silentLogger.error({ err: new Error("x") }, "ignored")).not.toThrow();
  });
});
