import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../../../src/errors.js";
import { createS3BlobBackend, isS3Destination, parseS3Uri } from "../../../src/store/index.js";

function refusal(fn: () => unknown): InvalidParameterError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidParameterError);
    return e as InvalidParameterError;
  }
  throw new Error("expected a refusal");
}

describe("s3:// artifacts destinations", () => {
  it("splits bucket and key prefix", () => {
    expect(parseS3Uri("s3://keel-artifacts")).toEqual({ bucket: "keel-artifacts", prefix: "" });
    expect(parseS3Uri("s3://keel-artifacts/")).toEqual({ bucket: "keel-artifacts", prefix: "" });
    expect(parseS3Uri("s3://my.bucket-1/team/risk/")).toEqual({ bucket: "my.bucket-1", prefix: "team/risk/" });
    expect(isS3Destination("s3://b/p")).toBe(true);
    expect(isS3Destination("/var/keel/artifacts")).toBe(false);
  });

  it("refuses bad bucket names and prefixes, naming the field and the rule", () => {
    for (const bad of [
      "s3://",
      "s3://Upper/x",
      "s3://ab",
      "s3://a_b/x",
      "s3://a..b/x",
      "s3://bucket/a//b",
      "s3://bucket/../x",
    ]) {
      const e = refusal(() => parseS3Uri(bad));
      expect(e.message, bad).toContain(`artifacts-destination ${JSON.stringify(bad)}`);
      expect(e.details).toMatchObject({ field: "artifactsDestination", value: bad });
    }
  });

  it("refuses a part size below S3's 5 MiB minimum", () => {
    const e = refusal(() => createS3BlobBackend({ destination: "s3://bucket/p", partSize: 1024 }));
    expect(e.message).toContain("at least 5242880 bytes");
  });

  it("names its location without doing any I/O", () => {
    // No endpoint is reachable at this address; creating the backend must not try.
    const b = createS3BlobBackend({ destination: "s3://bucket/team/", endpoint: "http://127.0.0.1:1" });
    expect(b.location).toBe("s3://bucket/team");
  });
});
