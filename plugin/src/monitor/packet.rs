//! The binary audio packet of `/stream`: a 24-byte little-endian header, then the payload.
//!
//! Pure data code, used by the broadcast thread and by clients in tests. The layout is the
//! contract with the page (`web-monitor/connection.js`) and is documented byte by byte in
//! `web-monitor/PROTOCOL.md`; any change to it bumps [`PROTOCOL_VERSION`].
//!
//! | bytes | field |
//! |---|---|
//! | 0–3 | magic `AURL` |
//! | 4 | protocol version (1) |
//! | 5 | codec: 0 = PCM16, 1 = Opus |
//! | 6 | channels (2) |
//! | 7 | flags: bit 0 = frames were lost just before this packet |
//! | 8–11 | sample rate, Hz, u32 |
//! | 12–15 | frames in this packet, u32 |
//! | 16–23 | sequence number, u64, +1 per packet |
//! | 24– | payload: PCM16 interleaved i16, or one Opus packet |

use tungstenite::Bytes;

use crate::realtime::Frame;

/// First four bytes of every audio packet.
pub const MAGIC: [u8; 4] = *b"AURL";
/// Version of the packet layout and of the JSON messages; clients refuse other versions.
pub const PROTOCOL_VERSION: u8 = 1;
/// Bytes before the payload. A multiple of 8, so the payload can be viewed in place as `i16`s.
pub const HEADER_BYTES: usize = 24;
/// Audio per packet. 20 ms keeps the message rate low (50/s per listener) while adding little
/// latency, and is a native Opus frame size.
pub const PACKET_DURATION_MS: u32 = 20;
/// Header flag: frames were lost between the previous packet and this one (the tap was full).
pub const FLAG_DISCONTINUITY: u8 = 1;
/// Channels in every packet: the engine's output is stereo.
pub const CHANNELS: u8 = 2;

/// How the payload is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Codec {
    /// Interleaved signed 16-bit little-endian samples; the default, decodable anywhere.
    Pcm16 = 0,
    /// One Opus packet per message (cargo feature `opus`, 48 kHz streams only).
    Opus = 1,
}

impl Codec {
    /// The name used in the `codec=` query parameter and in JSON messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pcm16 => "pcm16",
            Self::Opus => "opus",
        }
    }

    /// The codec called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "pcm16" => Some(Self::Pcm16),
            "opus" => Some(Self::Opus),
            _ => None,
        }
    }

    /// The codec with header byte `byte`, if there is one.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Pcm16),
            1 => Some(Self::Opus),
            _ => None,
        }
    }
}

/// The fields of a packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketHeader {
    /// How the payload is encoded.
    pub codec: Codec,
    /// Interleaved channels in the payload.
    pub channels: u8,
    /// [`FLAG_DISCONTINUITY`] and future bits; clients ignore bits they do not know.
    pub flags: u8,
    /// Sample rate of the audio, Hz.
    pub sample_rate: u32,
    /// Frames (samples per channel) the payload decodes to.
    pub frame_count: u32,
    /// Packet number, +1 per packet since the server started; a gap means the listener was
    /// skipped ahead.
    pub sequence: u64,
}

impl PacketHeader {
    /// Appends the 24 header bytes to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&[
            PROTOCOL_VERSION,
            self.codec as u8,
            self.channels,
            self.flags,
        ]);
        out.extend_from_slice(&self.sample_rate.to_le_bytes());
        out.extend_from_slice(&self.frame_count.to_le_bytes());
        out.extend_from_slice(&self.sequence.to_le_bytes());
    }

    /// Splits a packet into its header and payload; `None` if it is not a packet of this
    /// protocol version.
    pub fn parse(packet: &[u8]) -> Option<(Self, &[u8])> {
        let (head, payload) = packet.split_at_checked(HEADER_BYTES)?;
        if head[..4] != MAGIC || head[4] != PROTOCOL_VERSION {
            return None;
        }
        let u32_at =
            |at: usize| u32::from_le_bytes(head[at..at + 4].try_into().unwrap_or_default());
        let header = Self {
            codec: Codec::from_byte(head[5])?,
            channels: head[6],
            flags: head[7],
            sample_rate: u32_at(8),
            frame_count: u32_at(12),
            sequence: u64::from_le_bytes(head[16..24].try_into().unwrap_or_default()),
        };
        Some((header, payload))
    }
}

/// Frames in one packet at `sample_rate` (960 at 48 kHz, 882 at 44.1 kHz).
pub(super) fn frames_per_packet(sample_rate: u32) -> usize {
    (sample_rate * PACKET_DURATION_MS / 1000) as usize
}

/// A whole PCM16 packet: `header` (whose codec and frame count are set here) then `frames`,
/// clamped to [-1, 1] and scaled by 32767.
pub(super) fn encode_pcm16(header: PacketHeader, frames: &[Frame]) -> Bytes {
    let header = PacketHeader {
        codec: Codec::Pcm16,
        channels: CHANNELS,
        frame_count: frames.len() as u32,
        ..header
    };
    let mut packet = Vec::with_capacity(HEADER_BYTES + frames.len() * 4);
    header.write_to(&mut packet);
    for sample in frames.iter().flatten() {
        // NaN clamps to 0 through `as`, so a broken upstream can only ever send silence.
        let value = (sample.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        packet.extend_from_slice(&value.to_le_bytes());
    }
    Bytes::from(packet)
}

/// Cuts the tap's irregular blocks into packets of exactly one size.
pub(super) struct PacketAssembler {
    /// Frames per packet, from [`frames_per_packet`].
    frames_per_packet: usize,
    /// Frames waiting for the packet to fill; never longer than one packet.
    pending: Vec<Frame>,
    /// Sequence number of the next packet.
    next_sequence: u64,
}

impl PacketAssembler {
    /// An assembler for packets of `frames_per_packet` frames, numbered from 0.
    pub fn new(frames_per_packet: usize) -> Self {
        Self {
            frames_per_packet: frames_per_packet.max(1),
            pending: Vec::with_capacity(frames_per_packet.max(1)),
            next_sequence: 0,
        }
    }

    /// Adds `frames`, calling `emit(sequence, packet_frames)` for every packet they complete.
    pub fn push(&mut self, mut frames: &[Frame], mut emit: impl FnMut(u64, &[Frame])) {
        while !frames.is_empty() {
            let wanted = self.frames_per_packet - self.pending.len();
            let (now, later) = frames.split_at(wanted.min(frames.len()));
            self.pending.extend_from_slice(now);
            frames = later;
            if self.pending.len() == self.frames_per_packet {
                emit(self.next_sequence, &self.pending);
                self.next_sequence += 1;
                self.pending.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_round_trips_and_has_the_documented_layout() {
        let header = PacketHeader {
            codec: Codec::Pcm16,
            channels: 2,
            flags: FLAG_DISCONTINUITY,
            sample_rate: 48_000,
            frame_count: 960,
            sequence: 0x0102_0304_0506_0708,
        };
        let mut bytes = Vec::new();
        header.write_to(&mut bytes);
        assert_eq!(bytes.len(), HEADER_BYTES);
        assert_eq!(&bytes[..8], b"AURL\x01\x00\x02\x01");
        assert_eq!(&bytes[8..12], &48_000u32.to_le_bytes());
        assert_eq!(&bytes[16..24], &[8, 7, 6, 5, 4, 3, 2, 1]);
        bytes.extend_from_slice(b"pay");
        assert_eq!(PacketHeader::parse(&bytes), Some((header, &b"pay"[..])));
        bytes[4] = 2;
        assert_eq!(
            PacketHeader::parse(&bytes),
            None,
            "another version is refused"
        );
        assert_eq!(
            PacketHeader::parse(&bytes[..10]),
            None,
            "a short packet is refused"
        );
    }

    #[test]
    fn pcm16_clamps_scales_and_interleaves() {
        let header = PacketHeader {
            codec: Codec::Opus,
            channels: 9,
            flags: 0,
            sample_rate: 48_000,
            frame_count: 0,
            sequence: 7,
        };
        let packet = encode_pcm16(header, &[[0.5, -0.5], [2.0, f32::NAN], [-1.0, 0.0]]);
        let (parsed, payload) = PacketHeader::parse(&packet).unwrap();
        assert_eq!((parsed.codec, parsed.channels), (Codec::Pcm16, 2));
        assert_eq!((parsed.frame_count, parsed.sequence), (3, 7));
        let samples: Vec<i16> = payload
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(samples, [16384, -16384, 32767, 0, -32767, 0]);
    }

    #[test]
    fn irregular_blocks_become_whole_numbered_packets() {
        let mut assembler = PacketAssembler::new(frames_per_packet(48_000));
        let mut packets = Vec::new();
        let mut next_value = 0.0f32;
        for block_frames in [100, 1000, 5, 2000, 775] {
            let block: Vec<Frame> = (0..block_frames)
                .map(|_| {
                    next_value += 1.0;
                    [next_value, -next_value]
                })
                .collect();
            assembler.push(&block, |sequence, frames| {
                packets.push((sequence, frames.to_vec()))
            });
        }
        assert_eq!(
            packets.len(),
            4,
            "3880 frames make 4 packets of 960 and 40 left over"
        );
        for (index, (sequence, frames)) in packets.iter().enumerate() {
            assert_eq!(*sequence, index as u64);
            assert_eq!(frames.len(), 960);
            assert_eq!(
                frames[0][0],
                (index * 960 + 1) as f32,
                "no frame lost or repeated"
            );
        }
    }
}
