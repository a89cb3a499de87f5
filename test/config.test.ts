import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { InvalidParameterError } from "../src/errors.js";

const load = (env: Record<string, string>, flags: Record<string, string> = {}) =>
  loadConfig({ env, flags, cwd: "/srv" });

function refusal(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidParameterError);
    return e as Error;
  }
  throw new Error("expected a refusal");
}

describe("artifacts destination and S3 settings", () => {
  it("resolves a directory against the working directory and keeps an s3:// URI as given", () => {
    expect(load({}).artifactRoot).toBe("/srv/keel-data/artifacts");
    expect(load({ KEEL_ARTIFACT_ROOT: "art" }).artifactRoot).toBe("/srv/art");
    expect(load({ KEEL_ARTIFACT_ROOT: "art" }, { artifactRoot: "s3://b/p" }).artifactRoot).toBe("s3://b/p");
    expect(load({ KEEL_ARTIFACT_ROOT: "file:///var/keel/artifacts" }).artifactRoot).toBe("/var/keel/artifacts");
    expect(refusal(() => load({ KEEL_ARTIFACT_ROOT: "gs://b/p" })).message).toBe(
      'artifacts-destination "gs://b/p" must be a directory or s3://bucket/prefix',
    );
  });

  it("reads the AWS SDK's standard environment, the S3-specific endpoint first", () => {
    expect(load({}).s3).toEqual({
      endpoint: undefined,
      region: undefined,
      forcePathStyle: false,
      accessKeyId: undefined,
      secretAccessKey: undefined,
      sessionToken: undefined,
      partSize: undefined,
    });
    const s3 = load({
      AWS_ENDPOINT_URL: "http://all-services:4566",
      AWS_ENDPOINT_URL_S3: "http://minio:9000",
      AWS_REGION: "eu-west-1",
      AWS_S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: "AKIA",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_SESSION_TOKEN: "token",
      KEEL_S3_PART_SIZE: "8388608",
    }).s3;
    expect(s3).toEqual({
      endpoint: "http://minio:9000",
      region: "eu-west-1",
      forcePathStyle: true,
      accessKeyId: "AKIA",
      secretAccessKey: "secret",
      sessionToken: "token",
      partSize: 8388608,
    });
    expect(load({ AWS_ENDPOINT_URL: "http://all-services:4566" }).s3.endpoint).toBe("http://all-services:4566");
  });

  it("refuses bad S3 settings, naming the variable and the rule", () => {
    expect(refusal(() => load({ AWS_ENDPOINT_URL: "minio:9000" })).message).toBe(
      'AWS_ENDPOINT_URL "minio:9000" must start with http:// or https://',
    );
    expect(refusal(() => load({ AWS_ENDPOINT_URL_S3: "minio:9000" })).message).toBe(
      'AWS_ENDPOINT_URL_S3 "minio:9000" must start with http:// or https://',
    );
    expect(refusal(() => load({ AWS_ACCESS_KEY_ID: "AKIA" })).message).toBe(
      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together",
    );
    expect(refusal(() => load({ KEEL_S3_PART_SIZE: "1mb" })).message).toContain("at least 5242880 (5 MiB)");
    expect(refusal(() => load({ AWS_S3_FORCE_PATH_STYLE: "maybe" })).message).toContain("must be true or false");
  });
});

describe("S3 settings from the config file", () => {
  it("reads the file's s3 object below the environment", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "keel-config-"));
    try {
      const file = path.join(dir, "keel.json");
      writeFileSync(
        file,
        JSON.stringify({
          artifactRoot: "s3://models/prod",
          s3: { endpoint: "http://minio:9000", forcePathStyle: true, region: "eu-central-1", partSize: 10485760 },
        }),
      );
      const c = loadConfig({ env: { KEEL_CONFIG: file, AWS_REGION: "us-west-2" }, cwd: dir });
      expect(c.artifactRoot).toBe("s3://models/prod");
      expect(c.s3).toMatchObject({
        endpoint: "http://minio:9000",
        forcePathStyle: true,
        region: "us-west-2",
        partSize: 10485760,
      });
      writeFileSync(file, JSON.stringify({ s3: { partSize: 1000 } }));
      expect(refusal(() => loadConfig({ env: { KEEL_CONFIG: file }, cwd: dir })).message).toBe(
        "config file s3.partSize 1000 must be an integer number of bytes, at least 5242880 (5 MiB)",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

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
