/**
 * PII detection: each type is found by a pattern, then confirmed by its checksum or format rules
 * where one exists, so a number that only looks like a card, an IBAN or an SSN is not reported.
 * Patterns are only read through `matchAll`, which works on a copy, so the shared regular
 * expressions carry no state between calls.
 */
import {
  IBAN_LENGTHS,
  isBsnValid,
  isDniValid,
  isIbanValid,
  isIpv4Valid,
  isIpv6Valid,
  isLuhnValid,
  isNinoPrefixValid,
  isSsnValid,
} from "./checksums.js";

export const PII_TYPES = ["email", "phone", "card", "iban", "ssn", "nino", "bsn", "dni", "ipv4", "ipv6"] as const;
export type PiiType = (typeof PII_TYPES)[number];

/** A half-open range [start, end) of the text, in UTF-16 code units as `String.prototype.slice` counts. */
export interface Span<T extends string = string> {
  readonly start: number;
  readonly end: number;
  readonly type: T;
}

export type PiiSpan = Span<PiiType>;

const EMAIL =
  /(?<![\w.+-])[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![\w-])/g;

/**
 * 4-4-4-1..4(-1..3), Amex / Diners 4-6-4..5, or 13–19 digits unbroken; one separator style per number.
 */
const CARD =
  /(?<![\w+-])(?:\d{4}([ -]?)\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?|\d{4}([ -]?)\d{6}\2\d{4,5}|\d{13,19})(?!\w|-\d)/g;

const IBAN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])/g;

const SSN = /(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?!\w|-\d)/g;

const NINO = /(?<![A-Za-z0-9])([A-Z]{2}) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?[A-D](?![A-Za-z0-9])/g;

/** A BSN is nine digits that pass the eleven-test after a naming keyword: bare nine-digit numbers are too common. */
const BSN =
  /\b(?:BSN|burgerservicenummer|sofinummer)\b[^\d\n]{0,20}(\d{4}\.?\d{2}\.?\d{3}|\d{3}\.\d{3}\.\d{3})(?![\d])/gi;

const DNI = /(?<![A-Za-z0-9])([XYZ]-?\d{7}|\d{8})-?([A-Z])(?![A-Za-z0-9])/g;

const IPV4 = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d|\w)/g;

const IPV6 =
  /(?<![\w:.])(?=[0-9A-Fa-f]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{2,39}(?:\.\d{1,3}\.\d{1,3}\.\d{1,3})?(?![\w:]|\.\w)/g;

/**
 * Phone numbers: E.164 and international `+CC …` forms (8–15 digits), NANP `(415) 555-0132`,
 * `415-555-0132`, `415.555.0132`, `1-800-…`, and trunk-prefixed national numbers written in groups
 * (`020 7946 0958`, `06 12 34 56 78`, `030 1234567`). Separators are required for national numbers:
 * an unbroken run of digits is as likely an order number. Digit groups are separated by exactly one
 * separator, so a long run of digits cannot be split in many ways (no catastrophic backtracking).
 */
const PHONE = new RegExp(
  String.raw`(?<![\w+./:-])(?:` +
    [
      String.raw`\+[1-9]\d{0,2}(?:[ .-]?\(\d{1,4}\))?[ .-]?\d{1,12}(?:[ .-]\d{1,12}){0,5}`,
      String.raw`(?:1[ .-])?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}`,
      String.raw`0[1-9]\d{0,3}(?:[ ./-]\d{2,8}){1,4}`,
    ].join("|") +
    String.raw`)(?![\w/:]|[.,-]\d)`,
  "g",
);

function digitCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

function compact(s: string): string {
  return s.replace(/[ .-]/g, "");
}

/** A candidate's range and whether its checksum or format rules confirmed it. */
type Candidate = readonly [start: number, end: number, valid: boolean];
type Finder = (text: string) => Iterable<Candidate>;

function* matches(re: RegExp, text: string, accept: (m: RegExpExecArray) => boolean): Generator<Candidate> {
  for (const m of text.matchAll(re)) yield [m.index, m.index + m[0].length, accept(m)];
}

function* findCards(text: string): Generator<Candidate> {
  for (const m of text.matchAll(CARD)) {
    const digits = compact(m[0]);
    // Major industry identifiers 2–6 are the payment networks (Mastercard 2-series, Amex/Diners/JCB,
    // Visa, Mastercard/Maestro, Discover/UnionPay); other leading digits are mostly product codes.
    const network = digits[0] !== undefined && digits[0] >= "2" && digits[0] <= "6";
    yield [m.index, m.index + m[0].length, digits.length >= 13 && network && isLuhnValid(digits)];
  }
}

function* findIbans(text: string): Generator<Candidate> {
  for (const m of text.matchAll(IBAN)) {
    const iban = compact(m[0]);
    const length = IBAN_LENGTHS[iban.slice(0, 2)];
    let end = m[0].length;
    if (length !== undefined && iban.length > length) {
      // The pattern may run on into a following upper-case word; the country's length says where the IBAN ends.
      let kept = 0;
      for (end = 0; kept < length; end++) if (m[0][end] !== " ") kept++;
      if (m[0][end] !== " ") end = m[0].length;
    }
    yield [m.index, m.index + end, isIbanValid(compact(m[0].slice(0, end)))];
  }
}

const FINDERS: Readonly<Record<PiiType, Finder>> = {
  email: (t) => matches(EMAIL, t, () => true),
  card: findCards,
  iban: findIbans,
  ssn: (t) => matches(SSN, t, (m) => isSsnValid(m[1] as string, m[3] as string, m[4] as string)),
  nino: (t) => matches(NINO, t, (m) => isNinoPrefixValid(m[1] as string)),
  bsn: function* (t) {
    for (const m of t.matchAll(BSN)) {
      const id = m[1] as string;
      const end = m.index + m[0].length;
      yield [end - id.length, end, isBsnValid(id.replace(/\./g, ""))];
    }
  },
  dni: (t) => matches(DNI, t, (m) => isDniValid((m[1] as string).replace("-", "") + (m[2] as string))),
  ipv4: (t) => matches(IPV4, t, (m) => isIpv4Valid(m[0])),
  ipv6: (t) => matches(IPV6, t, (m) => isIpv6Valid(m[0])),
  phone: (t) =>
    matches(PHONE, t, (m) => {
      const n = digitCount(m[0]);
      return m[0].startsWith("+") ? n >= 8 && n <= 15 : n >= 10 && n <= 12;
    }),
};

/**
 * Where overlapping candidates compete, the earlier type here wins: checksum-confirmed types
 * before the pattern-only ones, and phone last because its shapes are the loosest. A candidate
 * that fails its check still claims its range, so the body of a mistyped IBAN or card is not
 * read again as a phone number.
 */
const PRECEDENCE: readonly PiiType[] = ["email", "iban", "card", "dni", "bsn", "ssn", "nino", "ipv6", "ipv4", "phone"];

/**
 * The PII spans of `text`, sorted by start, never overlapping. `types` limits what is reported
 * (default all); every type is still looked for, so a card number is not reported as a phone when
 * only phones are asked for.
 */
export function detectPii(text: string, types: readonly PiiType[] = PII_TYPES): PiiSpan[] {
  // One flag per code unit: the overlap test stays linear however many candidates a text holds.
  const claimed = new Uint8Array(text.length);
  const found: PiiSpan[] = [];
  for (const type of PRECEDENCE) {
    for (const [start, end, valid] of FINDERS[type](text)) {
      if (claimed.subarray(start, end).includes(1)) continue;
      claimed.fill(1, start, end);
      if (valid && types.includes(type)) found.push({ start, end, type });
    }
  }
  return found.sort((a, b) => a.start - b.start);
}
