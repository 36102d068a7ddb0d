//! `degu-hello` with feature `chunked`: the answer as chunked output.
#![no_std]
#![no_main]

include!("../degu_hello.rs");
