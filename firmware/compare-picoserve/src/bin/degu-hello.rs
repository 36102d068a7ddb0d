//! `GET /hello` with Degu, one worker.
#![no_std]
#![no_main]

include!("../degu_hello.rs");
