//! Differential: where both degu-core and httparse accept a request head, they agree
//! on its length, the method, the request-target and the header list (names compared
//! ignoring case, values after trimming optional whitespace, which degu does and
//! httparse does not always do). Degu refuses much that httparse accepts (other
//! methods and versions, absolute-form targets, duplicate headers, framing rules):
//! only heads both accept are compared.
#![no_main]

use degu_fuzz::heads;
use libfuzzer_sys::fuzz_target;

const N: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Ok(Some(degu)) = heads::request::<N>(&mut data.to_vec()) else {
        return;
    };
    let mut slots = [httparse::EMPTY_HEADER; N];
    let mut req = httparse::Request::new(&mut slots);
    let Ok(httparse::Status::Complete(len)) = req.parse(data) else {
        return;
    };
    assert_eq!(len, degu.len, "head length");
    assert_eq!(req.method, Some(degu.method.as_str()), "method");
    assert_eq!(req.path, Some(degu.uri.as_str()), "request-target");
    assert_eq!(req.version, Some(1), "version");
    assert_eq!(req.headers.len(), degu.headers.len(), "header count");
    for (h, (name, value)) in req.headers.iter().zip(&degu.headers) {
        assert!(
            h.name.eq_ignore_ascii_case(name),
            "name {:?} vs {name:?}",
            h.name
        );
        // OWS is SP and HTAB only (`trim_ascii` would take more).
        let mut theirs = h.value;
        while let [b' ' | b'\t', rest @ ..] = theirs {
            theirs = rest;
        }
        while let [rest @ .., b' ' | b'\t'] = theirs {
            theirs = rest;
        }
        assert_eq!(theirs, value.as_bytes(), "value of {name}");
    }
});
