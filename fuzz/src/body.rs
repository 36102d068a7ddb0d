//! A reference reader for bodies: drives [`BodyDecoder`] over an input delivered in
//! pieces and records what it saw, with data merged per chunk so that any two deliveries
//! of the same bytes must record the same thing.

use degu_core::body::{parse_chunk_line, render_chunk_line};
use degu_core::limits::MAX_CHUNK_SIZE;
use degu_core::{BodyDecoder, BodyError, ChunkHead, Decoded, Framing};

/// One chunk: its size line and its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Declared size.
    pub size: u32,
    /// Extension `(key, value)`.
    pub ext: Option<(String, String)>,
    /// The data read for it (shorter than `size` only if the input ended).
    pub data: Vec<u8>,
}

/// How reading ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The body ended after `consumed` input bytes (framing and data).
    End {
        /// Bytes of input the body took.
        consumed: usize,
    },
    /// The decoder refused the input.
    Error(BodyError),
    /// The input ended inside the body.
    Truncated,
}

/// Everything a read produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    /// Chunks (chunked framing).
    pub chunks: Vec<Chunk>,
    /// Data of a length-framed body.
    pub data: Vec<u8>,
    /// How it ended.
    pub outcome: Outcome,
}

/// Checks every chunk head must pass: a size within the limit, a valid extension, and a
/// size line that renders and parses back to the same head.
pub fn check_chunk_head(head: &ChunkHead<'_>) {
    assert!(
        head.size <= MAX_CHUNK_SIZE,
        "chunk size {} > max",
        head.size
    );
    if let Some(ext) = head.ext {
        assert!(ext.is_valid(), "invalid extension accepted: {ext:?}");
    }
    let mut out = [0u8; 4200];
    let n = render_chunk_line(&mut out, head.size as usize, head.ext)
        .unwrap_or_else(|e| panic!("parsed chunk head {head:?} does not render: {e:?}"));
    let back = parse_chunk_line(out.get(..n).unwrap_or(&[]));
    assert_eq!(back, Ok(Some((*head, n))), "chunk line round trip");
}

/// Read a body framed by `framing` from `input`, delivered first `splits[0]` bytes, then
/// `splits[1]` more, and so on (cycling; all at once when `splits` is empty). A new
/// piece is delivered only when the decoder cannot go on with what it has.
pub fn read(framing: Framing, input: &[u8], splits: &[usize]) -> Read {
    let mut dec = BodyDecoder::new(framing);
    let mut sizes = splits.iter().copied().cycle();
    let mut grow = |avail: usize| match sizes.next() {
        Some(n) => (avail + n.max(1)).min(input.len()),
        None => input.len(),
    };
    let mut avail = grow(0);
    let mut pos = 0;
    let mut out = Read {
        chunks: Vec::new(),
        data: Vec::new(),
        outcome: Outcome::Truncated,
    };
    loop {
        let window = input.get(pos..avail).unwrap_or(&[]);
        let (n, step) = match dec.decode(window) {
            Ok(x) => x,
            Err(e) => {
                out.outcome = Outcome::Error(e);
                return out;
            }
        };
        assert!(n <= window.len(), "consumed {n} of {} bytes", window.len());
        match step {
            Decoded::NeedMore | Decoded::Data(_) if n != 0 => {
                panic!("{step:?} consumed {n} bytes")
            }
            Decoded::NeedMore => {
                if avail == input.len() {
                    assert_eq!(dec.eof(), Err(BodyError::UnexpectedEof));
                    return out;
                }
                avail = grow(avail);
            }
            Decoded::Chunk(head) => {
                check_chunk_head(&head);
                assert!(n > 0, "a chunk line consumed nothing");
                pos += n;
                out.chunks.push(Chunk {
                    size: head.size,
                    ext: head.ext.map(|e| (e.key.to_owned(), e.value.to_owned())),
                    data: Vec::new(),
                });
            }
            Decoded::Data(max) => {
                assert!(max > 0, "Data(0)");
                assert_eq!(dec.data_remaining(), max);
                let take = usize::try_from(max).unwrap_or(usize::MAX).min(window.len());
                if take == 0 {
                    if avail == input.len() {
                        assert_eq!(dec.eof(), Err(BodyError::UnexpectedEof));
                        return out;
                    }
                    avail = grow(avail);
                    continue;
                }
                let data = window.get(..take).unwrap_or(&[]);
                match out.chunks.last_mut() {
                    Some(c) if framing == Framing::Chunked => c.data.extend_from_slice(data),
                    _ => out.data.extend_from_slice(data),
                }
                dec.consume(take);
                pos += take;
            }
            Decoded::End => {
                pos += n;
                assert!(dec.is_done() && dec.eof().is_ok());
                assert_eq!(
                    dec.decode(input.get(pos..).unwrap_or(&[])),
                    Ok((0, Decoded::End))
                );
                out.outcome = Outcome::End { consumed: pos };
                return out;
            }
        }
    }
}
