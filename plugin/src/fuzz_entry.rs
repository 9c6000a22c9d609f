//! Entry points for the coverage-guided fuzzers in `fuzz/` (cargo-fuzz builds every crate with
//! `--cfg fuzzing`): one input in, a panic on anything wrong. The proptest fuzzers in the test
//! suite drive the same checks, so these are compiled and exercised by every test run too.

/// A saved state as a host hands it back: refused, or loaded with only valid values.
pub fn saved_state(blob: &[u8]) {
    crate::state::fuzz_one(blob);
}

/// A user preset file, any bytes at all: refused with a reason, or read as a valid mood that
/// writes back to the same file.
pub fn preset_file(bytes: &[u8]) {
    crate::presets::file::fuzz_one(bytes);
}

/// Bytes from a web monitor client: one request read within its caps, or refused.
pub fn http_request(raw: &[u8]) {
    crate::monitor::fuzz_http_request(raw);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_points_take_anything() {
        for input in [
            &b""[..],
            b"{}",
            b"{\"version\":\"9\",\"params\":{\"tempo\":{\"f32\":1e30}},\"fields\":{}}",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"\xff\xfe\x00garbage",
        ] {
            saved_state(input);
            preset_file(input);
            http_request(input);
        }
    }
}
