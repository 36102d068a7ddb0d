//! `degu-hello` with feature `unix`: AF_UNIX peer addresses.
#![no_std]
#![no_main]

include!("../degu_hello.rs");
