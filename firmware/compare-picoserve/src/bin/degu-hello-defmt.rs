//! `degu-hello` with feature `defmt`: degu-embassy's logging through defmt-rtt.
#![no_std]
#![no_main]

include!("../degu_hello.rs");
