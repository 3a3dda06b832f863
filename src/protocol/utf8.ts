/**
 * Incremental, fail-fast UTF-8 validation (RFC 3629 §4, as required for WebSocket text by RFC 6455 §8.1).
 *
 * The validator state is a plain number so it can live in a parser field without an object:
 * `UTF8_ACCEPT` (0) means "at a code point boundary", `UTF8_REJECT` (-1) means "invalid", and any
 * other value encodes a sequence in progress (how many continuation bytes are still needed and the
 * allowed range of the next byte). Feeding the bytes of a message in any split gives the same verdict
 * as validating it whole, and an invalid prefix is rejected as soon as its offending byte arrives.
 *
 * @example
 * let state = UTF8_ACCEPT;
 * state = utf8Validate(state, firstFragment);
 * if (state === UTF8_REJECT) fail(1007);
 * state = utf8Validate(state, lastFragment);
 * const valid = state === UTF8_ACCEPT; // must be on a boundary at the end of the message
 */

/** State at a code point boundary (also the initial state). */
export const UTF8_ACCEPT = 0;
/** State after an invalid byte; sticky. */
export const UTF8_REJECT = -1;

/** A whole-buffer validator such as Node's `buffer.isUtf8`, used to speed up long runs. */
export type WholeUtf8Validator = (bytes: Uint8Array) => boolean;

// State layout: bits 0-1 = continuation bytes still needed, bits 8-15 = lowest allowed next byte,
// bits 16-23 = highest allowed next byte.
function pack(need: number, lo: number, hi: number): number {
  return need | (lo << 8) | (hi << 16);
}

/**
 * Feeds `bytes[start, end)` to the validator and returns the new state.
 * When `whole` is given, long stretches are checked with it (only complete sequences are passed).
 */
export function utf8Validate(
  state: number,
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
  whole?: WholeUtf8Validator,
): number {
  if (state === UTF8_REJECT) return UTF8_REJECT;
  let need = state & 3;
  let lo = (state >>> 8) & 0xff;
  let hi = (state >>> 16) & 0xff;
  let i = start;

  // Finish the sequence left open by the previous call.
  while (need > 0) {
    if (i >= end) return pack(need, lo, hi);
    const b = bytes[i++]!;
    if (b < lo || b > hi) return UTF8_REJECT;
    need--;
    lo = 0x80;
    hi = 0xbf;
  }

  if (whole !== undefined && end - i >= 64) {
    const cut = completeSequencesEnd(bytes, i, end);
    // A whole complete chunk (the common case: a message in one piece) is checked without a view.
    if (!whole(i === 0 && cut === bytes.length ? bytes : bytes.subarray(i, cut))) return UTF8_REJECT;
    i = cut;
  }

  // Most text is ASCII: skip it four bytes at a time (the loop below would pass over each alike).
  while (i + 4 <= end && ((bytes[i]! | bytes[i + 1]! | bytes[i + 2]! | bytes[i + 3]!) & 0x80) === 0) i += 4;
  while (i < end) {
    const b = bytes[i++]!;
    if (b < 0x80) continue;
    // Table 3-7 of the Unicode standard: well-formed byte sequences.
    if (b < 0xc2) return UTF8_REJECT; // stray continuation byte, or overlong 2-byte lead (c0, c1)
    if (b < 0xe0) {
      need = 1; lo = 0x80; hi = 0xbf;
    } else if (b < 0xf0) {
      need = 2;
      lo = b === 0xe0 ? 0xa0 : 0x80; // e0: no overlongs
      hi = b === 0xed ? 0x9f : 0xbf; // ed: no surrogates (U+D800..U+DFFF)
    } else if (b < 0xf5) {
      need = 3;
      lo = b === 0xf0 ? 0x90 : 0x80; // f0: no overlongs
      hi = b === 0xf4 ? 0x8f : 0xbf; // f4: nothing above U+10FFFF
    } else {
      return UTF8_REJECT; // f5..ff never appear in UTF-8
    }
    while (need > 0) {
      if (i >= end) return pack(need, lo, hi);
      const c = bytes[i++]!;
      if (c < lo || c > hi) return UTF8_REJECT;
      need--;
      lo = 0x80;
      hi = 0xbf;
    }
  }
  return UTF8_ACCEPT;
}

/**
 * Returns the index where a trailing, possibly incomplete multi-byte sequence starts, so that
 * `[start, result)` holds only complete sequences (if it is valid at all).
 */
function completeSequencesEnd(bytes: Uint8Array, start: number, end: number): number {
  // A sequence is at most 4 bytes, so an unfinished one starts within the last 3 bytes.
  const stop = Math.max(start, end - 3);
  for (let p = end - 1; p >= stop; p--) {
    const b = bytes[p]!;
    if (b < 0x80) return end;
    if (b >= 0xc0) {
      const length = b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
      return end - p < length ? p : end;
    }
  }
  return end;
}

/** Validates a complete buffer (the message must end on a code point boundary). */
export function isValidUtf8(bytes: Uint8Array, whole?: WholeUtf8Validator): boolean {
  if (whole !== undefined) return whole(bytes);
  return utf8Validate(UTF8_ACCEPT, bytes) === UTF8_ACCEPT;
}
