//! Byte classes as one 256-entry table of flags, built at compile time.
//!
//! Each region of a message has its own class; a byte is allowed in a region when its
//! flag is set. Control bytes (0x00..=0x1F except HTAB in field values), DEL and every
//! byte >= 0x80 are in no class. A unit test checks all 256 bytes of every class against
//! a predicate written straight from the grammar quoted on each `is_*` function.

/// Flag: `tchar` (RFC 9110 §5.6.2), header names and methods.
const TCHAR: u8 = 1 << 0;
/// Flag: field-value byte (RFC 9110 §5.5): VCHAR, SP, HTAB. Also reason phrases.
const FIELD: u8 = 1 << 1;
/// Flag: request-target byte (Degu's URI class).
const URI: u8 = 1 << 2;
/// Flag: path-component byte (Degu's PATH class).
const PATH: u8 = 1 << 3;
/// Flag: query byte (Degu's QUERY class).
const QUERY: u8 = 1 << 4;
/// Flag: chunk-extension key byte.
const EXT_KEY: u8 = 1 << 5;
/// Flag: chunk-extension value byte.
const EXT_VALUE: u8 = 1 << 6;

// The table builders run only in const evaluation: an out-of-range index there is a
// build error, never a run-time panic.
#[allow(clippy::indexing_slicing)]
const fn mark(mut table: [u8; 256], bytes: &[u8], flag: u8) -> [u8; 256] {
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] |= flag;
        i += 1;
    }
    table
}

#[allow(clippy::indexing_slicing)]
const fn mark_range(mut table: [u8; 256], lo: u8, hi: u8, flag: u8) -> [u8; 256] {
    let mut b = lo as usize;
    while b <= hi as usize {
        table[b] |= flag;
        b += 1;
    }
    table
}

const fn alnum(table: [u8; 256], flag: u8) -> [u8; 256] {
    let t = mark_range(table, b'0', b'9', flag);
    let t = mark_range(t, b'a', b'z', flag);
    mark_range(t, b'A', b'Z', flag)
}

const fn build() -> [u8; 256] {
    let t = [0u8; 256];
    let t = mark(alnum(t, TCHAR), b"!#$%&'*+-.^_`|~", TCHAR);
    let t = mark(mark_range(t, 0x21, 0x7E, FIELD), b" \t", FIELD);
    let t = mark(alnum(t, URI), b"-/?+.:_~%&=", URI);
    let t = mark(alnum(t, PATH), b"-+.:_~", PATH);
    let t = mark(alnum(t, QUERY), b"-+.:_~%&=", QUERY);
    let t = mark(alnum(t, EXT_KEY), b"-", EXT_KEY);
    mark(alnum(t, EXT_VALUE), b"-+.:_~\"'()*,;<>[]", EXT_VALUE)
}

const CLASS_TABLE: [u8; 256] = build();
static CLASS: [u8; 256] = CLASS_TABLE;

#[allow(clippy::indexing_slicing)]
const fn build_fold() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        if CLASS_TABLE[b] & TCHAR != 0 {
            t[b] = (b as u8).to_ascii_lowercase();
        }
        b += 1;
    }
    t
}

/// Lower-case fold of `tchar`, 0 for every byte that is not one.
static NAME_FOLD: [u8; 256] = build_fold();

#[inline(always)]
fn has(b: u8, flag: u8) -> bool {
    // `as usize` of a u8 is always < 256: `get` can't miss, and it keeps clippy's
    // indexing lint honest without a bounds-check branch the optimiser can't remove.
    CLASS.get(usize::from(b)).is_some_and(|c| c & flag != 0)
}

/// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" /
/// "`" / "|" / "~" / DIGIT / ALPHA` (RFC 9110 §5.6.2).
#[inline]
pub fn is_tchar(b: u8) -> bool {
    has(b, TCHAR)
}

/// The lower-case form of a `tchar`, or `None` for any other byte.
#[inline]
pub fn fold_name(b: u8) -> Option<u8> {
    match NAME_FOLD.get(usize::from(b)) {
        Some(0) | None => None,
        Some(&f) => Some(f),
    }
}

/// `field-vchar / SP / HTAB` where `field-vchar = VCHAR` (RFC 9110 §5.5, obs-text
/// excluded so every value is ASCII and can be a `&str`). Also the reason-phrase class
/// (RFC 9112 §4: `HTAB / SP / VCHAR`).
#[inline]
pub fn is_field(b: u8) -> bool {
    has(b, FIELD)
}

/// Degu URI class: `A-Z a-z 0-9 - / ? + . : _ ~ % & =`.
#[inline]
pub fn is_uri(b: u8) -> bool {
    has(b, URI)
}

/// Degu path-component class: `A-Z a-z 0-9 - + . : _ ~` (no `%`: no percent-encoding).
#[inline]
pub fn is_path(b: u8) -> bool {
    has(b, PATH)
}

/// Degu query class: `A-Z a-z 0-9 - + . : _ ~ % & =` (no `/` or `?`).
#[inline]
pub fn is_query(b: u8) -> bool {
    has(b, QUERY)
}

/// Chunk-extension key class: `A-Z a-z 0-9 -`.
#[inline]
pub fn is_ext_key(b: u8) -> bool {
    has(b, EXT_KEY)
}

/// Chunk-extension value class: `A-Z a-z 0-9 - + . : _ ~ " ' ( ) * , ; < > [ ]`.
#[inline]
pub fn is_ext_value(b: u8) -> bool {
    has(b, EXT_VALUE)
}

/// Value of an ASCII hex digit (either case), or `None`.
#[inline]
pub fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

// --- Runs, many bytes at a time ----------------------------------------------------------
//
// The head parser spends its time finding where a run of class bytes ends: header values
// (field bytes up to CR) and header names (tchars up to `:`), and folding names to lower
// case. On targets whose baseline has 128-bit SIMD this works on 16-byte blocks, written so
// that the compiler vectorises them (a block is mapped byte by byte into an array, with
// branch-free arithmetic only); the last bytes of a buffer too short for a whole block are
// read as the block that ends with the buffer. Elsewhere (and for buffers shorter than a
// block) it works on machine words with bit tricks, then on single bytes. Every variant
// gives exactly the answer of the byte-by-byte table lookups; the tests check that they
// agree.

/// Whether to scan 16-byte blocks: on targets whose baseline instruction set has 128-bit
/// SIMD, where the block loops below compile to a handful of vector instructions.
const BLOCKS: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));
/// Bytes per block.
const BLOCK: usize = 16;
/// Bytes per word of the word-at-a-time stage.
const WORD: usize = core::mem::size_of::<usize>();
/// `0x01` in every byte of a word.
const ONES: usize = usize::MAX / 0xFF;
/// `0x80` in every byte of a word.
const HIGHS: usize = ONES * 0x80;
/// `0x7F` in every byte of a word.
const LOWS: usize = ONES * 0x7F;

/// Printable ASCII, `0x20..=0x7E`: the field class but HTAB.
#[inline(always)]
const fn printable(b: u8) -> bool {
    b.wrapping_sub(0x20) < 0x5F
}

/// The `tchar`s nearly every header name is made of: letters, digits and `-` (`|`, not
/// `||`: no branches, so that it vectorises).
#[inline(always)]
const fn common_tchar(b: u8) -> bool {
    ((b | 0x20).wrapping_sub(b'a') < 26) | (b.wrapping_sub(b'0') < 10) | (b == b'-')
}

/// `0x20` for an upper-case letter, 0 for any other byte: what folding ORs in.
#[inline(always)]
const fn upper_bit(b: u8) -> u8 {
    (b.wrapping_sub(b'A') < 26) as u8 * 0x20
}

/// The block of `bytes` at `i`, if a whole one is left.
#[inline(always)]
fn block(bytes: &[u8], i: usize) -> Option<&[u8; BLOCK]> {
    bytes.get(i..i.checked_add(BLOCK)?)?.try_into().ok()
}

/// `0xFF` in each byte of `block` for which `stop` holds, 0 in the others, as one
/// little-endian number (byte 0 lowest).
#[inline(always)]
fn block_stops(block: &[u8; BLOCK], stop: impl Fn(u8) -> bool) -> u128 {
    let mut out = [0u8; BLOCK];
    for (o, &b) in out.iter_mut().zip(block) {
        *o = if stop(b) { 0xFF } else { 0 };
    }
    u128::from_le_bytes(out)
}

/// Offset of the first byte at or after `i` for which `stop` holds, or `bytes.len()`, a
/// block at a time; `None` if `bytes` is shorter than a block.
///
/// `ANY_FIRST`: test each block with an "any byte stops" reduction before working out
/// where. That compiles to a mask test for simple predicates (values, long runs) and to
/// worse code than the plain way for compound ones (names): the choice is measured.
#[inline(always)]
fn find_by_blocks<const ANY_FIRST: bool>(
    bytes: &[u8],
    mut i: usize,
    stop: impl Fn(u8) -> bool + Copy,
) -> Option<usize> {
    while let Some(b) = block(bytes, i) {
        if ANY_FIRST && !b.iter().fold(false, |any, &c| any | stop(c)) {
            i += BLOCK;
            continue;
        }
        if ANY_FIRST {
            return Some(i + b.iter().position(|&c| stop(c)).unwrap_or(BLOCK));
        }
        let stops = block_stops(b, stop);
        if stops != 0 {
            return Some(i + (stops.trailing_zeros() / 8) as usize);
        }
        i += BLOCK;
    }
    if i >= bytes.len() {
        return Some(bytes.len());
    }
    // Less than a block left: the block that ends with `bytes`, less its bytes before `i`.
    let last = bytes.len().checked_sub(BLOCK)?;
    let stops = block_stops(block(bytes, last)?, stop) >> (8 * (i - last));
    Some(if stops != 0 {
        i + (stops.trailing_zeros() / 8) as usize
    } else {
        bytes.len()
    })
}

/// The word of `bytes` at `i`, if a whole one is left, little-endian (byte 0 lowest).
#[inline(always)]
fn word(bytes: &[u8], i: usize) -> Option<usize> {
    let w: [u8; WORD] = bytes.get(i..i.checked_add(WORD)?)?.try_into().ok()?;
    Some(usize::from_le_bytes(w))
}

// Word tests. Each works on the low seven bits of every byte (`x & LOWS`), where adding at
// most 0x80 cannot carry into the next byte, so each is exact byte by byte: bit 7 of a
// byte of the result is that byte's answer, every other bit is 0.

/// Bit 7 set in each byte of `s` (all bytes below 0x80) that is `>= c`.
#[inline(always)]
const fn word_ge(s: usize, c: u8) -> usize {
    s.wrapping_add(ONES * (0x80 - c as usize)) & HIGHS
}

/// Bit 7 set in each byte of `s` (all bytes below 0x80) that equals `c`.
#[inline(always)]
const fn word_eq(s: usize, c: u8) -> usize {
    !(s ^ (ONES * c as usize)).wrapping_add(LOWS) & HIGHS
}

/// Bit 7 set in each byte of `x` that is not printable ASCII.
#[inline(always)]
const fn word_unprintable(x: usize) -> usize {
    let s = x & LOWS;
    // High bit set, below 0x20, or DEL.
    (x | !s.wrapping_add(ONES * 0x60) | s.wrapping_add(ONES)) & HIGHS
}

/// Bit 7 set in each byte of `x` that is not a letter, digit or `-`.
#[inline(always)]
const fn word_uncommon(x: usize) -> usize {
    let s = x & LOWS;
    let l = s | (ONES * 0x20);
    let letter = word_ge(l, b'a') & !word_ge(l, b'z' + 1);
    let digit = word_ge(s, b'0') & !word_ge(s, b'9' + 1);
    ((letter | digit | word_eq(s, b'-')) & !x & HIGHS) ^ HIGHS
}

/// Offset of the first byte at or after `i` for which `stop` holds, or `bytes.len()`:
/// blocks where they pay, else words (`word_stops` gives bit 7 of each stop byte of a
/// word), then bytes.
#[inline(always)]
fn find<const BLOCKS: bool, const ANY_FIRST: bool>(
    bytes: &[u8],
    mut i: usize,
    stop: impl Fn(u8) -> bool + Copy,
    word_stops: impl Fn(usize) -> usize,
) -> usize {
    if BLOCKS && let Some(at) = find_by_blocks::<ANY_FIRST>(bytes, i, stop) {
        return at;
    }
    while let Some(x) = word(bytes, i) {
        let stops = word_stops(x);
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += WORD;
    }
    let tail = bytes.get(i..).unwrap_or(&[]);
    i + tail.iter().position(|&b| stop(b)).unwrap_or(tail.len())
}

#[inline(always)]
fn field_run_with<const BLOCKS: bool>(bytes: &[u8], mut i: usize) -> usize {
    if BLOCKS {
        // Skip whole blocks of printable bytes with one vector test each; find the end
        // in the block that has a byte that is not (an HTAB, or the end) byte by byte:
        // a loop whose exit the branch predictor can learn, where computing the offset
        // from a mask would make every line wait for the vector unit.
        while let Some(b) = block(bytes, i) {
            if b.iter().fold(false, |any, &c| any | !printable(c))
                && let Some(at) = b.iter().position(|&c| !is_field(c))
            {
                return i + at;
            }
            i += BLOCK;
        }
        let tail = bytes.get(i..).unwrap_or(&[]);
        return i + tail
            .iter()
            .position(|&c| !is_field(c))
            .unwrap_or(tail.len());
    }
    loop {
        i = find::<BLOCKS, true>(bytes, i, |b| !printable(b), word_unprintable);
        if bytes.get(i) != Some(&b'\t') {
            return i;
        }
        i += 1;
    }
}

/// Offset of the first byte at or after `start` that is not a field byte
/// ([`is_field`]), or `bytes.len()`.
#[inline(always)]
pub fn field_run(bytes: &[u8], start: usize) -> usize {
    field_run_with::<BLOCKS>(bytes, start)
}

#[inline(always)]
fn name_run_with<const BLOCKS: bool>(bytes: &[u8], mut i: usize) -> usize {
    if BLOCKS {
        // Names are short: a chain of branches the predictor can learn beats a vector
        // compare whose mask every later step of the line would have to wait for.
        return table_run(bytes, i, TCHAR);
    }
    loop {
        i = find::<BLOCKS, false>(bytes, i, |b| !common_tchar(b), word_uncommon);
        match bytes.get(i) {
            Some(&b) if is_tchar(b) => i += 1,
            _ => return i,
        }
    }
}

/// Offset of the first byte at or after `start` that is not a `tchar`, or
/// `bytes.len()`. Fold the run with [`fold_name_run`] afterwards.
#[inline(always)]
pub fn name_run(bytes: &[u8], start: usize) -> usize {
    name_run_with::<BLOCKS>(bytes, start)
}

/// Offset of the first byte at or after `i` without `flag`, or `bytes.len()`: eight
/// bytes at a time through the table, every byte its own predictable branch.
#[inline(always)]
fn table_run(bytes: &[u8], mut i: usize, flag: u8) -> usize {
    while let Some(chunk) = bytes.get(i..).and_then(|r| r.first_chunk::<8>()) {
        for (k, &b) in chunk.iter().enumerate() {
            if !has(b, flag) {
                return i + k;
            }
        }
        i += 8;
    }
    let rest = bytes.get(i..).unwrap_or(&[]);
    i + rest
        .iter()
        .position(|&b| !has(b, flag))
        .unwrap_or(rest.len())
}

/// Offset of the first byte at or after `i` that is not a path byte ([`is_path`]), or
/// `bytes.len()`.
#[inline(always)]
pub fn path_run(bytes: &[u8], i: usize) -> usize {
    table_run(bytes, i, PATH)
}

/// Offset of the first byte at or after `i` that is not a query byte ([`is_query`]), or
/// `bytes.len()`.
#[inline(always)]
pub fn query_run(bytes: &[u8], i: usize) -> usize {
    table_run(bytes, i, QUERY)
}

/// `KEEP[n]`: 0xFF in the bytes of a block below `n`, 0 in the others.
// Built in const evaluation: an out-of-range index there is a build error.
#[allow(clippy::indexing_slicing)]
static KEEP: [[u8; BLOCK]; BLOCK + 1] = {
    let mut t = [[0u8; BLOCK]; BLOCK + 1];
    let mut n = 0;
    while n <= BLOCK {
        let mut j = 0;
        while j < n {
            t[n][j] = 0xFF;
            j += 1;
        }
        n += 1;
    }
    t
};

/// Fold the block of `bytes` at `at`, bytes `from..to` of it only (`from <= to <= BLOCK`).
#[inline(always)]
fn fold_block(bytes: &mut [u8], at: usize, from: usize, to: usize) {
    let (Some(b), Some(hi), Some(lo)) = (block(bytes, at), KEEP.get(to), KEEP.get(from)) else {
        return;
    };
    let mut folded = [0u8; BLOCK];
    for (((f, &c), &hi), &lo) in folded.iter_mut().zip(b).zip(hi).zip(lo) {
        *f = c | (upper_bit(c) & hi & !lo);
    }
    if let Some(dst) = bytes.get_mut(at..at + BLOCK) {
        dst.copy_from_slice(&folded);
    }
}

#[inline(always)]
fn fold_name_with<const BLOCKS: bool>(bytes: &mut [u8], mut i: usize, end: usize) {
    if BLOCKS
        && let Some(keep) = KEEP.get(end - i)
        && let Some(b) = block(bytes, i)
    {
        // Nearly every name: one block, the bytes from `end` on kept as they are.
        let mut folded = [0u8; BLOCK];
        for ((f, &c), &k) in folded.iter_mut().zip(b).zip(keep) {
            *f = c | (upper_bit(c) & k);
        }
        if let Some(dst) = bytes.get_mut(i..i + BLOCK) {
            dst.copy_from_slice(&folded);
        }
        return;
    }
    if BLOCKS && bytes.len() >= BLOCK {
        while i < end {
            if i + BLOCK <= bytes.len() {
                fold_block(bytes, i, 0, (end - i).min(BLOCK));
                i += BLOCK;
            } else {
                // The block that ends with `bytes`.
                let last = bytes.len() - BLOCK;
                fold_block(bytes, last, i - last, end - last);
                return;
            }
        }
        return;
    }
    while i < end {
        let Some(x) = word(bytes, i) else { break };
        let s = x & LOWS;
        let upper = word_ge(s, b'A') & !word_ge(s, b'Z' + 1) & !x;
        let keep = match end - i {
            n if n >= WORD => usize::MAX,
            n => (1 << (8 * n)) - 1,
        };
        if let Some(dst) = bytes.get_mut(i..i + WORD) {
            dst.copy_from_slice(&(x | (upper & keep) >> 2).to_le_bytes());
        }
        i += WORD;
    }
    for b in bytes.get_mut(i..end).unwrap_or(&mut []) {
        *b |= upper_bit(*b);
    }
}

/// Fold the `tchar`s `bytes[start..end]` (a name [`name_run`] found) to lower case in
/// place, leaving every other byte as it is.
///
/// This is a pass of its own, made after the scans of the line have read past the name:
/// a store into bytes that a wider load then reads again stalls the load on out-of-order
/// processors.
#[inline(always)]
pub fn fold_name_run(bytes: &mut [u8], start: usize, end: usize) {
    fold_name_with::<BLOCKS>(bytes, start, end);
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn alnum(b: u8) -> bool {
        b.is_ascii_alphanumeric()
    }

    fn check(name: &str, f: fn(u8) -> bool, spec: impl Fn(u8) -> bool) {
        for b in 0..=255u8 {
            assert_eq!(f(b), spec(b), "class {name}, byte {b:#04x}");
        }
    }

    #[test]
    fn every_class_matches_its_grammar_on_all_256_bytes() {
        check("tchar", is_tchar, |b| {
            alnum(b) || b"!#$%&'*+-.^_`|~".contains(&b)
        });
        check("field", is_field, |b| {
            (0x21..=0x7e).contains(&b) || b == b' ' || b == b'\t'
        });
        check("uri", is_uri, |b| alnum(b) || b"-/?+.:_~%&=".contains(&b));
        check("path", is_path, |b| alnum(b) || b"-+.:_~".contains(&b));
        check("query", is_query, |b| alnum(b) || b"-+.:_~%&=".contains(&b));
        check("ext key", is_ext_key, |b| alnum(b) || b == b'-');
        check("ext value", is_ext_value, |b| {
            alnum(b) || b"-+.:_~\"'()*,;<>[]".contains(&b)
        });
        check("hex", |b| hex_value(b).is_some(), |b| b.is_ascii_hexdigit());
    }

    #[test]
    fn no_class_admits_controls_del_or_non_ascii() {
        for b in (0..=0x1fu8).chain(0x7f..=0xff) {
            let field_ok = b == b'\t';
            assert!(!is_tchar(b) && !is_uri(b) && !is_path(b) && !is_query(b));
            assert!(!is_ext_key(b) && !is_ext_value(b));
            assert_eq!(is_field(b), field_ok, "{b:#04x}");
        }
    }

    #[test]
    fn fold_lowercases_tokens_and_refuses_the_rest() {
        assert_eq!(fold_name(b'A'), Some(b'a'));
        assert_eq!(fold_name(b'z'), Some(b'z'));
        assert_eq!(fold_name(b'_'), Some(b'_'));
        assert_eq!(fold_name(b' '), None);
        assert_eq!(fold_name(b':'), None);
        assert_eq!(fold_name(0), None);
    }
    /// Byte-by-byte answers the run scans must agree with.
    fn naive_field_run(bytes: &[u8]) -> usize {
        bytes
            .iter()
            .position(|&b| !is_field(b))
            .unwrap_or(bytes.len())
    }

    fn naive_fold_name_run(bytes: &mut [u8]) -> Option<(usize, u8)> {
        for (i, b) in bytes.iter_mut().enumerate() {
            match fold_name(*b) {
                Some(f) => *b = f,
                None => return Some((i, *b)),
            }
        }
        None
    }

    /// Both scan variants (blocks, words alone) against the naive ones on `bytes`, from
    /// each start offset in `starts` that is in range.
    fn check_runs(bytes: &[u8], starts: impl IntoIterator<Item = usize>) {
        for start in starts.into_iter().filter(|&s| s <= bytes.len()) {
            let rest = &bytes[start..];
            let want = start + naive_field_run(rest);
            assert_eq!(
                field_run_with::<true>(bytes, start),
                want,
                "{start} {bytes:?}"
            );
            assert_eq!(
                field_run_with::<false>(bytes, start),
                want,
                "{start} {bytes:?}"
            );

            let mut expect = [0u8; 64];
            let expect = &mut expect[..bytes.len()];
            expect.copy_from_slice(bytes);
            let want =
                naive_fold_name_run(&mut expect[start..]).map_or(bytes.len(), |(n, _)| start + n);
            assert_eq!(
                name_run_with::<true>(bytes, start),
                want,
                "{start} {bytes:?}"
            );
            assert_eq!(
                name_run_with::<false>(bytes, start),
                want,
                "{start} {bytes:?}"
            );
            let end = want;
            for blocks in [true, false] {
                let mut got = [0u8; 64];
                let got = &mut got[..bytes.len()];
                got.copy_from_slice(bytes);
                if blocks {
                    fold_name_with::<true>(got, start, end);
                } else {
                    fold_name_with::<false>(got, start, end);
                }
                assert_eq!(got, expect, "blocks {blocks}, {start}: {bytes:?}");
            }
        }
    }

    #[test]
    fn table_free_predicates_match_the_tables() {
        check("common_tchar", common_tchar, |b| {
            b.is_ascii_alphanumeric() || b == b'-'
        });
        check("printable", printable, |b| is_field(b) && b != b'\t');
    }

    #[test]
    fn runs_agree_with_the_tables_for_every_byte_at_every_offset() {
        // Every byte value at every offset of a 40-byte run of each filler, so that it
        // lands in every lane of a block, of a word and of the tail.
        for filler in [b'a', b'Z', b'-', b'7', b' ', b'\t', b'_'] {
            for len in [0, 1, 7, 8, 9, 15, 16, 17, 23, 33, 40] {
                for at in 0..len {
                    for b in 0..=255u8 {
                        let mut bytes = [filler; 40];
                        bytes[at] = b;
                        check_runs(&bytes[..len], [0, 1, 7, at, at + 1]);
                    }
                }
                check_runs(&[filler; 40][..len], 0..=len);
            }
        }
    }

    #[test]
    fn runs_agree_with_the_tables_on_mixed_text() {
        // A small deterministic generator: mixed case names, values, stops, tabs.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"aAzZmM09-_.!~:\r\n\t \"(,/;=@[{\x7f\x80\xff\x00\x1f";
        for _ in 0..20_000 {
            let len = (next() % 48) as usize;
            let mut bytes = [0u8; 48];
            for b in &mut bytes[..len] {
                let r = next();
                *b = if r % 4 == 0 {
                    alphabet[(r >> 8) as usize % alphabet.len()]
                } else {
                    b"abcXYZ-019"[(r >> 8) as usize % 10]
                };
            }
            check_runs(&bytes[..len], 0..=len);
        }
    }
}
