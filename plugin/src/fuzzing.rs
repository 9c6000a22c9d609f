//! What the property-based fuzzers share: damaging genuine input byte by byte, as a flaky
//! disk, a truncated download or a hostile client would.

use proptest::prelude::*;
use proptest::sample::Index;

/// One change to a byte string: overwrite, insert or delete at a position.
#[derive(Debug, Clone)]
pub struct Edit {
    at: Index,
    byte: u8,
    kind: u8,
}

/// Up to `most` edits.
pub fn edits(most: usize) -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        (any::<Index>(), any::<u8>(), 0..3u8).prop_map(|(at, byte, kind)| Edit { at, byte, kind }),
        0..=most,
    )
}

/// `bytes` with every edit applied in order.
pub fn damage(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let at = edit.at.index(bytes.len() + 1);
        match edit.kind {
            0 if at < bytes.len() => bytes[at] = edit.byte,
            1 => bytes.insert(at, edit.byte),
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
    bytes
}
