//! Opus for `/stream?codec=opus` and the Icecast outputs (cargo feature `opus`): one 20 ms Opus
//! packet per message, 48 kHz stereo, [`BROWSER_OPUS_BITRATE_BPS`] or the Icecast bitrate.
//! About a tenth of PCM16's 1.5 Mb/s, for listeners on thin links.
//!
//! Runs on the broadcast thread. The encoder is made when the first packet is wanted and kept;
//! encoding happens only while someone listens to Opus or an Icecast output is configured.

use opus::{Application, Bitrate, Channels, Encoder};
use tungstenite::Bytes;

use super::packet::{CHANNELS, Codec, HEADER_BYTES, PacketHeader};
use crate::realtime::Frame;

/// The browsers' Opus bitrate when no Icecast output sets another: transparent for ambient
/// material at 48 kHz stereo.
pub(super) const BROWSER_OPUS_BITRATE_BPS: u32 = 160_000;
/// Opus's own recommended ceiling for one packet.
const MAX_OPUS_PACKET_BYTES: usize = 4000;

/// A stereo 48 kHz Opus encoder with its buffers.
pub(super) struct OpusPacketEncoder {
    /// libopus state; carries across packets, so packets must be encoded in order.
    encoder: Encoder,
    /// Interleaved input, reused.
    pcm: Vec<f32>,
    /// Encoded output, reused.
    output: Vec<u8>,
}

impl OpusPacketEncoder {
    /// An encoder at `bitrate_bps`, or `None` if libopus refuses (the monitor then stays
    /// PCM-only).
    fn new(bitrate_bps: u32) -> Option<Self> {
        let mut encoder = Encoder::new(48_000, Channels::Stereo, Application::Audio).ok()?;
        let bitrate = i32::try_from(bitrate_bps).ok()?;
        encoder.set_bitrate(Bitrate::Bits(bitrate)).ok()?;
        Some(Self {
            encoder,
            pcm: Vec::with_capacity(2 * 960),
            output: vec![0; MAX_OPUS_PACKET_BYTES],
        })
    }

    /// One whole Opus packet for `frames` (960 at 48 kHz).
    fn encode(&mut self, header: PacketHeader, frames: &[Frame]) -> Option<Bytes> {
        self.pcm.clear();
        self.pcm
            .extend(frames.iter().flatten().map(|s| s.clamp(-1.0, 1.0)));
        let bytes = self
            .encoder
            .encode_float(&self.pcm, &mut self.output)
            .ok()?;
        let header = PacketHeader {
            codec: Codec::Opus,
            channels: CHANNELS,
            frame_count: frames.len() as u32,
            ..header
        };
        let mut packet = Vec::with_capacity(HEADER_BYTES + bytes);
        header.write_to(&mut packet);
        packet.extend_from_slice(&self.output[..bytes]);
        Some(Bytes::from(packet))
    }
}

/// Encodes with the encoder in `slot`, making it at `bitrate_bps` on first use.
pub(super) fn encode(
    slot: &mut Option<OpusPacketEncoder>,
    bitrate_bps: u32,
    header: PacketHeader,
    frames: &[Frame],
) -> Option<Bytes> {
    if slot.is_none() {
        *slot = OpusPacketEncoder::new(bitrate_bps);
    }
    slot.as_mut()?.encode(header, frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sine_encodes_to_small_packets_that_decode_to_a_sine() {
        let mut slot = None;
        let mut decoder = opus::Decoder::new(48_000, Channels::Stereo).unwrap();
        let header = PacketHeader {
            codec: Codec::Pcm16,
            channels: 2,
            flags: 0,
            sample_rate: 48_000,
            frame_count: 0,
            sequence: 0,
        };
        let mut decoded = vec![0.0f32; 2 * 960];
        let mut energy = 0.0f32;
        for packet_index in 0..25 {
            let frames: Vec<Frame> = (0..960)
                .map(|i| {
                    let t = (packet_index * 960 + i) as f32 / 48_000.0;
                    let s = 0.5 * (std::f32::consts::TAU * 440.0 * t).sin();
                    [s, s]
                })
                .collect();
            let packet = encode(&mut slot, BROWSER_OPUS_BITRATE_BPS, header, &frames)
                .expect("libopus encodes");
            let (parsed, payload) = PacketHeader::parse(&packet).unwrap();
            assert_eq!((parsed.codec, parsed.frame_count), (Codec::Opus, 960));
            assert!(payload.len() < 1000, "{} bytes for 20 ms", payload.len());
            let frames_out = decoder.decode_float(payload, &mut decoded, false).unwrap();
            assert_eq!(frames_out, 960);
            if packet_index > 5 {
                energy += decoded.iter().map(|s| s * s).sum::<f32>() / decoded.len() as f32;
            }
        }
        let rms = (energy / 19.0).sqrt();
        assert!((0.3..0.4).contains(&rms), "decoded rms {rms}");
    }
}
