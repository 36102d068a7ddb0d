//! `parse_response` on arbitrary bytes, for each method: never panics; a complete head
//! ends at the input's first `\r\n\r\n` and keeps every header invariant; parsing is
//! deterministic, also over its own output; the head alone parses the same; the method
//! only decides the framing (none for HEAD, and for 1xx, 204, 304 whatever the method).
#![no_main]

use degu_core::{Framing, Method};
use degu_fuzz::heads::{
    self, check_head_end, check_headers, framing_from_headers, line_end_prefixes,
};
use libfuzzer_sys::fuzz_target;

const N: usize = 32;

fuzz_target!(|data: &[u8]| {
    let get = heads::response::<N>(&mut data.to_vec(), Method::Get);
    for method in Method::ALL {
        let mut buf = data.to_vec();
        let first = heads::response::<N>(&mut buf, method);
        assert_eq!(
            heads::response::<N>(&mut data.to_vec(), method),
            first,
            "not deterministic"
        );
        assert_eq!(
            heads::response::<N>(&mut buf, method),
            first,
            "re-parse of folded head"
        );

        match (&first, &get) {
            (Ok(Some(head)), Ok(Some(g))) => {
                check_head_end(data, head.len);
                check_headers(&head.headers, N);
                assert!((100..=599).contains(&head.status));
                let bodiless = method == Method::Head
                    || head.status < 200
                    || head.status == 204
                    || head.status == 304;
                if bodiless {
                    assert_eq!(head.framing, Framing::None, "{method} {}", head.status);
                } else {
                    assert_eq!(head.framing, framing_from_headers(&head.headers));
                }
                let mut same = head.clone();
                same.framing = g.framing;
                assert_eq!(&same, g, "{method} differs from GET beyond framing");
                let alone = data.get(..head.len).unwrap_or(&[]);
                assert_eq!(
                    heads::response::<N>(&mut alone.to_vec(), method),
                    first,
                    "head alone"
                );
                for k in line_end_prefixes(data, head.len) {
                    let prefix = data.get(..k).unwrap_or(&[]);
                    assert_eq!(
                        heads::response::<N>(&mut prefix.to_vec(), method),
                        Ok(None),
                        "prefix of {k} bytes of a good head"
                    );
                }
            }
            (Ok(None), Ok(None)) => {
                let mut scanned = 0;
                assert_eq!(
                    degu_core::find_head_end(data, &mut scanned),
                    None,
                    "Partial although the head has ended"
                );
            }
            (Err(e), Err(g)) => assert_eq!(e, g, "{method} error differs from GET's"),
            _ => panic!("{method}: {first:?}, GET: {get:?}"),
        }
    }
});
