//! The Python original's benchmark workload: one connection, sequential `POST /` with a
//! 108-byte JSON body, answered `200 OK` with a 108-byte JSON body; 148 bytes each way.

/// 96 characters of payload inside each JSON body.
macro_rules! payload {
    () => {
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwx"
    };
}

/// The request body: `{"ping": "<96 chars>"}`.
pub const PING: &[u8] = concat!("{\"ping\": \"", payload!(), "\"}").as_bytes();

/// The response body: `{"pong": "<96 chars>"}`.
pub const PONG: &[u8] = concat!("{\"pong\": \"", payload!(), "\"}").as_bytes();

/// Length of each body.
pub const BODY_LEN: usize = 108;

/// Length of each whole message, head and body.
pub const MESSAGE_LEN: usize = 148;

/// The request head every client must send, byte for byte.
pub const REQUEST_HEAD: &[u8] = b"POST / HTTP/1.1\r\ncontent-length: 108\r\n\r\n";

/// The response head every server must send, byte for byte.
pub const RESPONSE_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 108\r\n\r\n";

/// The whole request on the wire.
pub const REQUEST: [u8; MESSAGE_LEN] = join(REQUEST_HEAD, PING);

/// The whole response on the wire.
pub const RESPONSE: [u8; MESSAGE_LEN] = join(RESPONSE_HEAD, PONG);

const _: () = assert!(PING.len() == BODY_LEN && PONG.len() == BODY_LEN);
const _: () = assert!(REQUEST_HEAD.len() + BODY_LEN == MESSAGE_LEN);
const _: () = assert!(RESPONSE_HEAD.len() + BODY_LEN == MESSAGE_LEN);

const fn join(head: &[u8], body: &[u8]) -> [u8; MESSAGE_LEN] {
    let mut out = [0u8; MESSAGE_LEN];
    let mut i = 0;
    while i < head.len() {
        out[i] = head[i];
        i += 1;
    }
    let mut j = 0;
    while j < body.len() {
        out[i + j] = body[j];
        j += 1;
    }
    out
}
