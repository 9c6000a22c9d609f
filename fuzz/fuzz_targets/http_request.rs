//! What a web monitor client sends, any bytes at all: `auralis::fuzz_entry::http_request`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| auralis::fuzz_entry::http_request(raw));
