//! A saved state as a host hands it back, any bytes at all: `auralis::fuzz_entry::saved_state`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|blob: &[u8]| auralis::fuzz_entry::saved_state(blob));
