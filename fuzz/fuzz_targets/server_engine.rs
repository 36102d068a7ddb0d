//! The whole server engine with `DemoApp`, fed an arbitrary byte stream through the
//! in-memory pipe (the client's write half closes after the input, so the engine must
//! end), reading at most `max_read` bytes per read. Never panics, never deadlocks (the
//! executor turns a stall into a panic), writes only responses that parse, and answers
//! like the model in `degu_fuzz::engine`: the demo app's answer to every good request,
//! an error answer to a bad head, and the close the engine's rules call for.
#![no_main]

use degu_core::engine::KeepAlive;
use degu_fuzz::Knobs;
use degu_fuzz::engine::{READ_BUFFER, check, serve_bytes};
use libfuzzer_sys::fuzz_target;

const MAX_READS: [usize; 8] = [usize::MAX, 1, 2, 3, 7, 64, 1000, usize::MAX];
const MAX_REQUESTS: [u32; 4] = [1000, 1, 2, 3];
const DRAIN_LIMITS: [u64; 4] = [64 * 1024, 0, 5, 64 * 1024];

fuzz_target!(|data: &[u8]| {
    // One knob byte: max_read (3 bits), max_requests (2 bits), drain_limit (2 bits).
    let mut knobs = Knobs::new(data);
    let k = usize::from(knobs.byte());
    let input = knobs.rest();
    let max_read = MAX_READS[k & 7];
    let config = KeepAlive::new()
        .max_requests(MAX_REQUESTS[(k >> 3) & 3])
        .drain_limit(DRAIN_LIMITS[(k >> 5) & 3]);

    let (output, end) = serve_bytes(input, max_read, config);
    check(input, &output, &end, &config, input.len() <= READ_BUFFER);
});
