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

#[cfg(test)]
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
}
