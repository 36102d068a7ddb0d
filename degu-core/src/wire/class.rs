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

/// `a == b` for the head's fixed words (`content-length`, `chunked`, ...): inlined on a
/// host, where each compare is a few wide loads; on a microcontroller one call to the
/// one `memcmp`, where each inlined compare would be flash.
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), inline)]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    inline(never)
)]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a == b
}

/// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" /
/// "`" / "|" / "~" / DIGIT / ALPHA` (RFC 9110 §5.6.2).
#[inline]
pub fn is_tchar(b: u8) -> bool {
    has(b, TCHAR)
}

/// The lower-case form of a `tchar`, or `None` for any other byte.
///
/// One lookup in a table of its own where names are scanned eight bytes at a time
/// (`UNROLL`); elsewhere the class table and an OR, which leaves the fold table's 256
/// bytes out of a microcontroller's flash.
#[cfg(any(test, feature = "fuzz"))]
#[inline]
pub fn fold_name(b: u8) -> Option<u8> {
    fold_name_with::<UNROLL>(b)
}

#[inline(always)]
fn fold_name_with<const TABLE: bool>(b: u8) -> Option<u8> {
    if TABLE {
        match NAME_FOLD.get(usize::from(b)) {
            Some(0) | None => None,
            Some(&f) => Some(f),
        }
    } else if is_tchar(b) {
        Some(b.to_ascii_lowercase())
    } else {
        None
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
// The head parser spends its time finding where a run of class bytes ends: header names
// (tchars up to `:`, folded on the way), the request-target, and header values (field
// bytes up to CR). Names and targets are short: they are checked eight bytes at a time
// through the table, each byte its own branch. Where a run ends is thus a branch the
// processor predicts and runs ahead of, where an offset worked out from a mask would make
// every later step of the line wait for it. Values can be long: on targets whose baseline
// has 128-bit SIMD, whole 16-byte blocks of printable bytes are skipped with one vector
// test each (written so that the compiler vectorises it), and the end is found byte by
// byte in the last block; elsewhere words are tested with bit tricks. Every variant gives
// exactly the answer of the byte-by-byte table lookups; the tests check that they agree.

/// Whether to skip 16-byte blocks of values with vector tests: on targets whose baseline
/// instruction set has 128-bit SIMD.
const BLOCKS: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));
/// Whether names and targets are scanned eight bytes at a time: on the same out-of-order
/// cores, which run ahead of the predicted branches. An in-order microcontroller core
/// gains nothing from it, and each unrolled scan, inlined where it is used, costs it
/// flash: there the scans go byte by byte.
pub(crate) const UNROLL: bool = BLOCKS;
/// Bytes per block.
const BLOCK: usize = 16;
/// Bytes per word of the word-at-a-time value scan.
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

/// The block of `bytes` at `i`, if a whole one is left.
#[inline(always)]
fn block(bytes: &[u8], i: usize) -> Option<&[u8; BLOCK]> {
    bytes.get(i..i.checked_add(BLOCK)?)?.try_into().ok()
}

/// The word of `bytes` at `i`, if a whole one is left, little-endian (byte 0 lowest).
#[inline(always)]
fn word(bytes: &[u8], i: usize) -> Option<usize> {
    let w: [u8; WORD] = bytes.get(i..i.checked_add(WORD)?)?.try_into().ok()?;
    Some(usize::from_le_bytes(w))
}

/// Bit 7 set in each byte of the word `x` that is not printable ASCII: its high bit set,
/// below 0x20, or DEL. Exact byte by byte: on the low seven bits of each byte (`x &
/// LOWS`), adding at most 0x60 cannot carry into the next byte.
#[inline(always)]
const fn word_unprintable(x: usize) -> usize {
    let s = x & LOWS;
    (x | !s.wrapping_add(ONES * 0x60) | s.wrapping_add(ONES)) & HIGHS
}

#[inline(always)]
fn field_run_with<const BLOCKS: bool>(bytes: &[u8], mut i: usize) -> usize {
    if BLOCKS {
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
    } else {
        while let Some(x) = word(bytes, i) {
            let stops = word_unprintable(x);
            if stops != 0 {
                let at = i + (stops.trailing_zeros() / 8) as usize;
                if bytes.get(at) != Some(&b'\t') {
                    return at;
                }
                i = at + 1;
            } else {
                i += WORD;
            }
        }
    }
    table_run(bytes, i, FIELD)
}

/// Offset of the first byte at or after `start` that is not a field byte
/// ([`is_field`]), or `bytes.len()`.
#[inline(always)]
pub fn field_run(bytes: &[u8], start: usize) -> usize {
    field_run_with::<BLOCKS>(bytes, start)
}

/// Offset of the first byte at or after `i` without `flag`, or `bytes.len()`: eight
/// bytes at a time through the table (`UNROLL`), every byte its own predictable
/// branch, or byte by byte.
#[inline(always)]
fn table_run(bytes: &[u8], i: usize, flag: u8) -> usize {
    table_run_with::<UNROLL>(bytes, i, flag)
}

#[inline(always)]
fn table_run_with<const UNROLL: bool>(bytes: &[u8], mut i: usize, flag: u8) -> usize {
    while let Some(chunk) = bytes
        .get(i..)
        .and_then(|r| r.first_chunk::<8>())
        .filter(|_| UNROLL)
    {
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

/// Fold the run of `tchar`s from `i` on to lower case in place (`fold_name` byte by
/// byte); the offset of the first byte that is not a `tchar`, or `bytes.len()`.
///
/// Eight bytes at a time through the fold table, each byte written back whether or not
/// folding changed it: the only branch is the end of the name (one the predictor learns),
/// not the case of every letter (one it cannot).
#[inline(always)]
pub fn fold_name_run(bytes: &mut [u8], i: usize) -> usize {
    fold_name_run_with::<UNROLL>(bytes, i)
}

#[inline(always)]
fn fold_name_run_with<const UNROLL: bool>(bytes: &mut [u8], mut i: usize) -> usize {
    let last_chunk = bytes.len().saturating_sub(8);
    while UNROLL
        && i <= last_chunk
        && let Some(chunk) = bytes
            .get_mut(i..i + 8)
            .and_then(|r| r.first_chunk_mut::<8>())
    {
        for (k, b) in chunk.iter_mut().enumerate() {
            match fold_name_with::<UNROLL>(*b) {
                None => return i + k,
                Some(f) => *b = f,
            }
        }
        i += 8;
    }
    let rest = bytes.get_mut(i..).unwrap_or(&mut []);
    for (k, b) in rest.iter_mut().enumerate() {
        match fold_name_with::<UNROLL>(*b) {
            None => return i + k,
            Some(f) => *b = f,
        }
    }
    bytes.len()
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
    fn fold_by_table_and_by_class_agree_on_all_256_bytes() {
        for b in 0..=255u8 {
            let want = is_tchar(b).then(|| b.to_ascii_lowercase());
            assert_eq!(fold_name_with::<true>(b), want, "{b:#04x}");
            assert_eq!(fold_name_with::<false>(b), want, "{b:#04x}");
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
    fn naive_run(bytes: &[u8], start: usize, class: fn(u8) -> bool) -> usize {
        start
            + bytes[start..]
                .iter()
                .position(|&b| !class(b))
                .unwrap_or(bytes.len() - start)
    }

    fn naive_fold_name_run(bytes: &mut [u8], start: usize) -> usize {
        for (i, b) in bytes.iter_mut().enumerate().skip(start) {
            match fold_name(*b) {
                Some(f) => *b = f,
                None => return i,
            }
        }
        bytes.len()
    }

    /// Every scan (both value variants) against the naive ones on `bytes`, from each
    /// start offset in `starts` that is in range.
    fn check_runs(bytes: &[u8], starts: impl IntoIterator<Item = usize>) {
        for start in starts.into_iter().filter(|&s| s <= bytes.len()) {
            let want = naive_run(bytes, start, is_field);
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
            let want = naive_run(bytes, start, is_path);
            assert_eq!(path_run(bytes, start), want, "{start} {bytes:?}");
            assert_eq!(table_run_with::<true>(bytes, start, PATH), want);
            assert_eq!(table_run_with::<false>(bytes, start, PATH), want);
            let want = naive_run(bytes, start, is_query);
            assert_eq!(query_run(bytes, start), want, "{start} {bytes:?}");
            assert_eq!(table_run_with::<true>(bytes, start, QUERY), want);
            assert_eq!(table_run_with::<false>(bytes, start, QUERY), want);

            let mut expect = [0u8; 64];
            let expect = &mut expect[..bytes.len()];
            expect.copy_from_slice(bytes);
            let want = naive_fold_name_run(expect, start);
            for unroll in [false, true] {
                let mut got = [0u8; 64];
                let got = &mut got[..bytes.len()];
                got.copy_from_slice(bytes);
                let end = if unroll {
                    fold_name_run_with::<true>(got, start)
                } else {
                    fold_name_run_with::<false>(got, start)
                };
                assert_eq!(end, want, "{start} {bytes:?}");
                assert_eq!(got, expect, "{start} {bytes:?}");
            }
        }
    }

    #[test]
    fn printable_is_the_field_class_but_htab() {
        check("printable", printable, |b| is_field(b) && b != b'\t');
        for b in 0..=255u8 {
            let x = usize::from_le_bytes([b; WORD]);
            let want = if printable(b) { 0 } else { HIGHS };
            assert_eq!(word_unprintable(x), want, "{b:#04x}");
        }
    }

    #[test]
    fn runs_agree_with_the_tables_for_every_byte_at_every_offset() {
        // Every byte value at every offset of a 40-byte run of each filler, so that it
        // lands in every lane of a block, of a word and of the tail.
        for filler in [b'a', b'Z', b'-', b'7', b' ', b'\t', b'_', b'%', b'/'] {
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
        let alphabet = b"aAzZmM09-_.!~:\r\n\t \"(,/;=@[{%&?+\x7f\x80\xff\x00\x1f";
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
