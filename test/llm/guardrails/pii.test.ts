import { describe, expect, it } from "vitest";
import { detectPii, type PiiType } from "../../../src/llm/index.js";

/** The detected values of `text` as `type:value`. */
function found(text: string, types?: readonly PiiType[]): string[] {
  return detectPii(text, types).map((s) => `${s.type}:${text.slice(s.start, s.end)}`);
}

describe("detectPii", () => {
  it("finds each type in its common written forms", () => {
    expect(found("Write to john.smith+news@mail.example.co.uk.")).toEqual(["email:john.smith+news@mail.example.co.uk"]);
    expect(found("Call (415) 555-0132, +44 20 7946 0958, 020 7946 0958, 06 12 34 56 78 or +14155550132.")).toEqual([
      "phone:(415) 555-0132",
      "phone:+44 20 7946 0958",
      "phone:020 7946 0958",
      "phone:06 12 34 56 78",
      "phone:+14155550132",
    ]);
    expect(found("Cards 4111 1111 1111 1111, 4111-1111-1111-1111, 378282246310005 and 3782 822463 10005.")).toEqual([
      "card:4111 1111 1111 1111",
      "card:4111-1111-1111-1111",
      "card:378282246310005",
      "card:3782 822463 10005",
    ]);
    expect(found("IBAN GB82 WEST 1234 5698 7654 32 and DE89370400440532013000.")).toEqual([
      "iban:GB82 WEST 1234 5698 7654 32",
      "iban:DE89370400440532013000",
    ]);
    expect(found("SSN 123-45-6789, NINO AB 12 34 56 C and AB123456C")).toEqual([
      "ssn:123-45-6789",
      "nino:AB 12 34 56 C",
      "nino:AB123456C",
    ]);
    expect(found("BSN: 111222333; DNI 12345678Z, NIE X1234567L")).toEqual([
      "bsn:111222333",
      "dni:12345678Z",
      "dni:X1234567L",
    ]);
    expect(found("From 192.168.1.1 and 2001:db8::ff00:42:8329, then fe80::1.")).toEqual([
      "ipv4:192.168.1.1",
      "ipv6:2001:db8::ff00:42:8329",
      "ipv6:fe80::1",
    ]);
  });

  it("does not report look-alikes that fail their checksum or format rules", () => {
    const nearMisses = [
      "Card 4111 1111 1111 1112 fails Luhn.",
      "IBAN GB82 WEST 1234 5698 7654 33 fails mod-97, DE89 3704 0044 0532 0130 0 is short.",
      "SSNs 000-12-3456, 666-12-3456, 912-12-3456, 123-00-4567 and 123-45-0000 are never issued.",
      "NINO QQ 12 34 56 C is the specimen, BG123456A is not issued.",
      "DNI 12345678A has the wrong letter; BSN: 123456789 fails the eleven-test.",
      "256.1.1.1 and 192.168.1.300 are not addresses; version 1.2.3 and v1.2.3.4 are versions; 10:30:45 is a time.",
      "On 2024-01-15, 15/01/2024 or 15.01.2024, order #48392017 cost $1,299.99 (€1.234,56).",
      "A bare 123456782 is not a BSN without the word, and user@localhost is not an address.",
    ];
    for (const text of nearMisses) expect(found(text), text).toEqual([]);
  });

  it("a value that fails its own check is not read again as another type", () => {
    // The digits of a mistyped IBAN are not a phone number, nor a card.
    expect(found("IBAN DE89 3704 0044 0532 0130 01")).toEqual([]);
  });

  it("reports only the asked-for types, without reading a card as a phone", () => {
    const text = "Mail a@example.com, card 4111 1111 1111 1111.";
    expect(found(text, ["email"])).toEqual(["email:a@example.com"]);
    expect(found(text, ["phone"])).toEqual([]);
  });

  it("spans are exact, sorted and slice the original text", () => {
    const text = "x 123-45-6789 y a@b.io";
    expect(detectPii(text)).toEqual([
      { start: 2, end: 13, type: "ssn" },
      { start: 16, end: 22, type: "email" },
    ]);
  });
});
