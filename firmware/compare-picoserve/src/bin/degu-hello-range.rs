//! `degu-hello` with feature `range`: Range requests.
#![no_std]
#![no_main]

include!("../degu_hello.rs");
