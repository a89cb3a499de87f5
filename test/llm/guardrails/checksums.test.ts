import { describe, expect, it } from "vitest";
import {
  isBsnValid,
  isDniValid,
  isIbanValid,
  isIpv4Valid,
  isIpv6Valid,
  isLuhnValid,
  isNinoPrefixValid,
  isSsnValid,
} from "../../../src/llm/index.js";

describe("checksums", () => {
  it("Luhn accepts the published test numbers and refuses a changed digit", () => {
    for (const n of ["79927398713", "4111111111111111", "378282246310005", "6011111111111117", "5555555555554444"]) {
      expect(isLuhnValid(n)).toBe(true);
    }
    expect(isLuhnValid("4111111111111112")).toBe(false);
    expect(isLuhnValid("79927398710")).toBe(false);
    expect(isLuhnValid("")).toBe(false);
    expect(isLuhnValid("4111x11111111111")).toBe(false);
  });

  it("IBAN: mod-97 and the country's length", () => {
    for (const iban of [
      "GB82WEST12345698765432",
      "DE89370400440532013000",
      "FR1420041010050500013M02606",
      "NL91ABNA0417164300",
      "NO9386011117947",
    ]) {
      expect(isIbanValid(iban)).toBe(true);
    }
    expect(isIbanValid("GB82WEST12345698765433")).toBe(false); // mod-97 fails
    expect(isIbanValid("DE8937040044053201300")).toBe(false); // DE is 22 long
    expect(isIbanValid("QQ82WEST12345698765432")).toBe(false); // no such country
  });

  it("SSN: area 000, 666 and 9xx, group 00 and serial 0000 are never issued", () => {
    expect(isSsnValid("123", "45", "6789")).toBe(true);
    expect(isSsnValid("000", "12", "3456")).toBe(false);
    expect(isSsnValid("666", "12", "3456")).toBe(false);
    expect(isSsnValid("912", "12", "3456")).toBe(false);
    expect(isSsnValid("123", "00", "3456")).toBe(false);
    expect(isSsnValid("123", "45", "0000")).toBe(false);
  });

  it("NINO prefixes: excluded letters and the never-issued pairs", () => {
    expect(isNinoPrefixValid("AB")).toBe(true);
    for (const p of ["DA", "FA", "QQ", "AO", "AV", "BG", "GB", "NK", "KN", "TN", "NT", "ZZ"])
      expect(isNinoPrefixValid(p)).toBe(false);
  });

  it("BSN eleven-test and DNI / NIE letters", () => {
    expect(isBsnValid("111222333")).toBe(true);
    expect(isBsnValid("123456782")).toBe(true);
    expect(isBsnValid("123456789")).toBe(false);
    expect(isBsnValid("000000000")).toBe(false);
    expect(isDniValid("12345678Z")).toBe(true);
    expect(isDniValid("12345678A")).toBe(false);
    expect(isDniValid("X1234567L")).toBe(true);
    expect(isDniValid("Y1234567X")).toBe(true);
    expect(isDniValid("Z1234567R")).toBe(true);
  });

  it("IP addresses: octets 0–255, IPv6 groups and one ::", () => {
    expect(isIpv4Valid("192.168.0.1")).toBe(true);
    expect(isIpv4Valid("256.1.1.1")).toBe(false);
    expect(isIpv4Valid("01.1.1.1")).toBe(false);
    expect(isIpv4Valid("1.1.1")).toBe(false);
    for (const a of ["::1", "fe80::1", "2001:db8:0:0:0:0:2:1", "::ffff:192.0.2.128", "2001:DB8::8:800:200C:417A"]) {
      expect(isIpv6Valid(a)).toBe(true);
    }
    for (const a of [
      "1::2::3",
      "10:30:45",
      "2001:db8:0:0:0:0:2",
      "12345::1",
      "::ffff:256.0.2.128",
      "1:2:3:4:5:6:7:8::",
    ]) {
      expect(isIpv6Valid(a)).toBe(false);
    }
  });
});
