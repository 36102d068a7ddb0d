//! The demo app's JSON routes (`GET /status`, `POST /led`, serde-json-core without an
//! allocator), run without sockets through `degu_core::testing`, the harness a firmware
//! author uses on the host: degu's client over an in-memory connection, and raw bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use degu_core::engine::Error;
use degu_core::testing::{exchange, with_client};
use degu_examples::demo::{DemoApp, MAX_JSON_BODY};

const JSON: Option<&str> = Some("application/json");

#[test]
fn status_counts_the_requests_of_its_connection() {
    with_client(&DemoApp, async |conn| {
        let mut body = [0u8; 256];
        for i in 0..3 {
            let mut r = conn.get("/status", &[]).await?;
            assert_eq!(r.status, 200);
            assert_eq!(r.headers.get("content-type"), JSON);
            let n = r.body.read_to_end(&mut body).await?;
            let want = format!(r#"{{"app":"degu-demo","version":"0.1.0","requests":{i}}}"#);
            assert_eq!(std::str::from_utf8(&body[..n]).unwrap(), want);
        }
        let r = conn.head("/status", &[]).await?;
        assert_eq!(r.headers.get("content-length"), Some("50"));
        Ok::<(), Error>(())
    })
    .unwrap();
}

#[test]
fn led_parses_a_json_body_and_answers_the_setting() {
    with_client(&DemoApp, async |conn| {
        let mut body = [0u8; 256];
        for (sent, want) in [
            (
                r#"{"on":true,"brightness":40}"#,
                r#"{"on":true,"brightness":40}"#,
            ),
            // Whitespace and key order are JSON's business, not the answer's.
            (
                r#" { "brightness" : 100 , "on" : false } "#,
                r#"{"on":false,"brightness":100}"#,
            ),
        ] {
            let mut r = conn.post("/led", &[], sent.as_bytes()).await?;
            assert_eq!((r.status, r.headers.get("content-type")), (200, JSON));
            let n = r.body.read_to_end(&mut body).await?;
            assert_eq!(std::str::from_utf8(&body[..n]).unwrap(), want);
        }
        Ok::<(), Error>(())
    })
    .unwrap();
}

/// Send `request`, return the status line and the body.
fn raw(request: &[u8]) -> (String, String) {
    let mut out = vec![0u8; 4096];
    let answer = exchange(&DemoApp, request, &mut out).unwrap();
    let text = String::from_utf8(out[..answer.len].to_vec()).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

fn post_led(body: &str) -> Vec<u8> {
    format!(
        "POST /led HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn bad_json_is_400_with_a_json_error() {
    for bad in [
        "",
        "{",
        "not json",
        r#"{"on":1,"brightness":2}"#,
        r#"{"on":true}"#,
        r#"{"on":true,"brightness":-1}"#,
        r#"{"on":true,"brightness":256}"#,
    ] {
        let (status, body) = raw(&post_led(bad));
        assert_eq!(status, "HTTP/1.1 400 Bad Request", "body {bad:?}");
        assert!(body.starts_with(r#"{"error":"expected"#), "{bad:?}: {body}");
    }
    let (status, body) = raw(&post_led(r#"{"on":true,"brightness":101}"#));
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert_eq!(body, r#"{"error":"brightness is 0..=100"}"#);
}

#[test]
fn a_json_body_larger_than_the_buffer_is_413() {
    let fits = format!(
        r#"{{"on":true,"brightness":1}}{}"#,
        " ".repeat(MAX_JSON_BODY - 26)
    );
    assert_eq!(fits.len(), MAX_JSON_BODY);
    assert_eq!(raw(&post_led(&fits)).0, "HTTP/1.1 200 OK");
    let larger = format!("{fits} ");
    assert_eq!(raw(&post_led(&larger)).0, "HTTP/1.1 413 Content Too Large");
    // Chunked: the same bound.
    let chunked = format!(
        "POST /led HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{larger}\r\n0\r\n\r\n",
        larger.len()
    );
    assert_eq!(raw(chunked.as_bytes()).0, "HTTP/1.1 413 Content Too Large");
}
