//! `BodyDecoder` over a chunked body of arbitrary bytes, delivered in pieces whose sizes
//! come from the front of the input: never panics; never consumes more than it was
//! given, nor framing on `NeedMore`/`Data`; every chunk head is in range, has a valid
//! extension and renders back to itself; and however the bytes are split, the chunks
//! (size, extension, data), the bytes taken and the outcome (end, error, cut short) are
//! those of decoding everything at once.
#![no_main]

use degu_core::Framing;
use degu_core::body::parse_chunk_line;
use degu_fuzz::Knobs;
use degu_fuzz::body::{self, check_chunk_head};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte: how many split sizes follow (0..=7); each is 1..=256 bytes.
    let mut knobs = Knobs::new(data);
    let count = knobs.byte() % 8;
    let splits: Vec<usize> = (0..count).map(|_| usize::from(knobs.byte()) + 1).collect();
    let input = knobs.rest();

    let whole = body::read(Framing::Chunked, input, &[]);
    if let body::Outcome::End { consumed } = whole.outcome {
        assert!(consumed <= input.len());
    }
    let split = body::read(Framing::Chunked, input, &splits);
    assert_eq!(split, whole, "split {splits:?} differs from all at once");
    // Byte by byte re-parses a line once per byte: quadratic, so only for short inputs
    // (the split sizes above reach 1 too).
    if input.len() <= 256 {
        let bytewise = body::read(Framing::Chunked, input, &[1]);
        assert_eq!(bytewise, whole, "byte by byte differs from all at once");
    }

    // The line parser on its own, from the very start of the input.
    match parse_chunk_line(input) {
        Ok(Some((head, n))) => {
            assert!(n <= input.len() && n <= degu_core::limits::MAX_CHUNK_LINE_LEN);
            assert!(input.get(..n).is_some_and(|l| l.ends_with(b"\r\n")));
            check_chunk_head(&head);
        }
        Ok(None) => assert!(input.len() < degu_core::limits::MAX_CHUNK_LINE_LEN),
        Err(_) => {}
    }
});
