import { describe, expect, it } from "vitest";
import { parseChainKeyring } from "../../src/store/index.js";

const ok = (keys: Record<string, unknown>, current = "k1") => JSON.stringify({ current, keys });

describe("the audit keyring", () => {
  it("reads hex, base64 and text secrets and the current key", () => {
    const ring = parseChainKeyring(
      ok(
        { k1: `hex:${"0f".repeat(32)}`, k2: `base64:${Buffer.alloc(40, 7).toString("base64")}`, k3: "t".repeat(32) },
        "k2",
      ),
      "keys.json",
    );
    expect(ring.current.id).toBe("k2");
    expect(ring.keys.get("k1")?.secret).toEqual(Buffer.alloc(32, 0x0f));
    expect(ring.keys.get("k2")?.secret).toEqual(Buffer.alloc(40, 7));
    expect(ring.keys.get("k3")?.secret.toString()).toBe("t".repeat(32));
  });

  it("refuses a short secret, an unknown current key, a bad key id and bad JSON, naming the rule", () => {
    expect(() => parseChainKeyring(ok({ k1: "short" }), "keys.json")).toThrow(
      "audit keyring keys.json: keys.k1 is 5 bytes; a secret must be at least 32 bytes",
    );
    expect(() => parseChainKeyring(ok({ k1: "s".repeat(32) }, "k9"), "keys.json")).toThrow(
      "audit keyring keys.json: field current must name one of the keys (k1)",
    );
    expect(() => parseChainKeyring(ok({ "a b": "s".repeat(32) }), "keys.json")).toThrow(/key id "a b" must be 1–64/);
    expect(() => parseChainKeyring("{", "KEEL_AUDIT_KEYS")).toThrow("audit keyring KEEL_AUDIT_KEYS: is not valid JSON");
    expect(() => parseChainKeyring(JSON.stringify({ current: "k1" }), "k")).toThrow(/field keys must be an object/);
  });
});
