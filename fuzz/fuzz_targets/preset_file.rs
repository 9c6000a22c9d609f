//! A user preset file, any bytes at all: `auralis::fuzz_entry::preset_file`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| auralis::fuzz_entry::preset_file(bytes));
