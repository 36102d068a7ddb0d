//! `parse_request` on arbitrary bytes: never panics; a complete head ends at the input's
//! first `\r\n\r\n` and keeps every header invariant; parsing is deterministic, also
//! over its own (name-folded) output; the head alone parses the same as with bytes
//! after it; no prefix of a good head that ends a line is refused (the engine re-parses
//! those while a head arrives); the header-slot count only ever adds `TooManyHeaders`;
//! a `RequestParser` fed the input in three reads ends as the one-shot parse does (but
//! that a bad byte in a line not yet ended waits for its line end).
#![no_main]

use degu_core::ParseError;
use degu_fuzz::heads::{self, check_head_end, check_headers, line_end_prefixes};
use libfuzzer_sys::fuzz_target;

const N: usize = 32;

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    let first = heads::request::<N>(&mut buf);
    assert_eq!(
        heads::request::<N>(&mut data.to_vec()),
        first,
        "not deterministic"
    );
    // `buf` now has its header names folded: the same head again.
    assert_eq!(
        heads::request::<N>(&mut buf),
        first,
        "re-parse of folded head"
    );

    let third = data.len() / 3;
    let fed = heads::request_fed::<N>(data, &[third, 2 * third, data.len()]);
    assert!(
        fed == first || (fed == Ok(None) && !data.ends_with(b"\n")),
        "fed in three reads: {fed:?}, one-shot: {first:?}"
    );

    match &first {
        Ok(Some(head)) => {
            check_head_end(data, head.len);
            check_headers(&head.headers, N);
            assert!(head.uri.starts_with('/') && head.uri.len() <= degu_core::limits::MAX_URI_LEN);
            assert_eq!(
                format!(
                    "{}{}",
                    head.path,
                    head.query
                        .as_ref()
                        .map(|q| format!("?{q}"))
                        .unwrap_or_default()
                ),
                head.uri
            );
            let alone = data.get(..head.len).unwrap_or(&[]);
            assert_eq!(
                heads::request::<N>(&mut alone.to_vec()),
                first,
                "head alone"
            );
            for k in line_end_prefixes(data, head.len) {
                let prefix = data.get(..k).unwrap_or(&[]);
                assert_eq!(
                    heads::request::<N>(&mut prefix.to_vec()),
                    Ok(None),
                    "prefix of {k} bytes of a good head"
                );
            }
            // Exactly as many slots as headers is enough; one fewer is TooManyHeaders.
            let fewer = heads::request::<4>(&mut data.to_vec());
            if head.headers.len() <= 4 {
                assert_eq!(fewer, first, "4 slots");
            } else {
                assert_eq!(fewer, Err(ParseError::TooManyHeaders), "4 slots");
            }
        }
        Ok(None) => {
            let mut scanned = 0;
            assert_eq!(
                degu_core::find_head_end(data, &mut scanned),
                None,
                "Partial although the head has ended"
            );
        }
        Err(e) => {
            assert!((400..=599).contains(&e.status()), "{e:?}");
            // More slots never turn an error into a success.
            let more = heads::request::<64>(&mut data.to_vec());
            if *e != ParseError::TooManyHeaders {
                assert_eq!(more, first, "64 slots");
            }
        }
    }
});
