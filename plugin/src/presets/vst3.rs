//! `.vstpreset` files of the factory presets, for VST3 hosts' preset browsers.
//!
//! The format (VST 3 SDK, `vstpresetfile.h`): a 48-byte header (`VST3`, format version 1, the
//! plugin's class id as 32 ASCII hex digits, the offset of the chunk list), the chunks, then the
//! chunk list (`List`, a count, and per chunk its id, offset and size, all little-endian). The
//! `Comp` chunk is what the component's `setState` receives: nice-plug's state JSON, here holding
//! only the preset's parameters so that loading it leaves gain and routing as they are. The
//! `Info` chunk is the SDK's XML metadata, which browsers show. The bundle step writes them into
//! `Auralis.vst3/Contents/Resources/Presets/` (see `src/bin/auralis-vst3-presets.rs`).

use std::fmt::Write as _;

use super::{Preset, as_state};

/// The format version of the header.
const FORMAT_VERSION: i32 = 1;
/// Header: chunk id, version, class id, chunk list offset.
const HEADER_BYTES: usize = 4 + 4 + 32 + 8;

/// The class id as the header spells it: the 16 bytes in hex, upper case, in the order
/// nice-plug gives hosts on every platform (it swaps them on Windows for COM, whose string form
/// then reads the same).
pub fn class_id_text(class_id: &[u8; 16]) -> String {
    class_id.iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

/// The `.vstpreset` of `preset` for the plugin with VST3 class id `class_id`.
pub fn vstpreset(preset: &Preset, class_id: &[u8; 16]) -> Vec<u8> {
    let component = serde_json::to_vec(&as_state(&preset.settings))
        .unwrap_or_else(|_| unreachable!("a state of plain values always serialises"));
    let info = info_xml(preset);
    let chunks: [(&[u8; 4], &[u8]); 2] = [(b"Comp", &component), (b"Info", info.as_bytes())];

    let mut out = Vec::with_capacity(HEADER_BYTES + component.len() + info.len() + 64);
    out.extend_from_slice(b"VST3");
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(class_id_text(class_id).as_bytes());
    out.extend_from_slice(&0i64.to_le_bytes()); // the list's offset, filled in below
    let mut entries = Vec::new();
    for (id, data) in chunks {
        entries.push((id, out.len() as i64, data.len() as i64));
        out.extend_from_slice(data);
    }
    let list_offset = out.len() as i64;
    out[HEADER_BYTES - 8..HEADER_BYTES].copy_from_slice(&list_offset.to_le_bytes());
    out.extend_from_slice(b"List");
    out.extend_from_slice(&(entries.len() as i32).to_le_bytes());
    for (id, offset, size) in entries {
        out.extend_from_slice(id);
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
    }
    out
}

/// The file name of `preset`'s `.vstpreset`.
pub fn file_name(preset: &Preset) -> String {
    format!("{}.vstpreset", preset.name)
}

/// The SDK's metadata XML (`PresetMetaInfo`): the plugin, the preset's name and its character.
fn info_xml(preset: &Preset) -> String {
    let attr = |id: &str, value: &str, flags: &str| {
        format!(
            "\t<Attr id=\"{id}\" value=\"{}\" type=\"string\" flags=\"{flags}\"/>\n",
            escape(value)
        )
    };
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<MetaInfo>\n");
    xml += &attr("MediaType", "VstPreset", "writeProtected");
    xml += &attr("PlugInName", "Auralis", "writeProtected");
    xml += &attr("PlugInCategory", "Instrument|Synth", "writeProtected");
    xml += &attr("Name", preset.name, "");
    xml += &attr("MusicalName", preset.name, "");
    xml += &attr("MusicalCategory", "Ambient", "");
    xml += &attr("MusicalCharacter", &preset.features().join(" "), "");
    xml += &attr("Comment", preset.description, "");
    xml += "</MetaInfo>\n";
    xml
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::PRESETS;
    use nice_plug::plugin::PluginState;

    fn le_i64(bytes: &[u8]) -> i64 {
        i64::from_le_bytes(bytes.try_into().expect("8 bytes"))
    }

    #[test]
    fn a_vstpreset_holds_the_state_of_exactly_the_presets_parameters() {
        let class_id = *b"AuralisAmbient01";
        for preset in &PRESETS {
            let file = vstpreset(preset, &class_id);
            assert_eq!(&file[..4], b"VST3");
            assert_eq!(&file[8..40], b"417572616C6973416D6269656E743031");
            let list = le_i64(&file[40..48]) as usize;
            assert_eq!(&file[list..list + 4], b"List");
            let count = i32::from_le_bytes(file[list + 4..list + 8].try_into().expect("4"));
            assert_eq!(count, 2);
            let entry = &file[list + 8..list + 28];
            assert_eq!(&entry[..4], b"Comp");
            let (offset, size) = (
                le_i64(&entry[4..12]) as usize,
                le_i64(&entry[12..20]) as usize,
            );
            let state: PluginState =
                serde_json::from_slice(&file[offset..offset + size]).expect("nice-plug's JSON");
            assert_eq!(state.params.len(), crate::presets::MOOD_IDS.len());
            let settings = crate::presets::apply_mood_params(Default::default(), &state.params);
            assert_eq!(settings, preset.settings, "{}", preset.name);
            let info = &file[list + 28..list + 48];
            assert_eq!(&info[..4], b"Info");
            let (offset, size) = (
                le_i64(&info[4..12]) as usize,
                le_i64(&info[12..20]) as usize,
            );
            let xml = std::str::from_utf8(&file[offset..offset + size]).expect("utf-8");
            assert!(xml.contains(&format!("value=\"{}\"", preset.name)), "{xml}");
        }
    }

    #[test]
    fn the_class_id_is_spelt_as_the_sdk_reads_it() {
        assert_eq!(
            class_id_text(b"AuralisAmbient01"),
            "417572616C6973416D6269656E743031"
        );
        assert_eq!(class_id_text(&[0xAB; 16]), "AB".repeat(16));
    }
}
