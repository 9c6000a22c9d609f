//! Ogg/Opus framing (RFC 7845) of the broadcaster's Opus packets: an `OpusHead` page, an
//! `OpusTags` page, then audio pages, as one logical stream per connection.
//!
//! Pages and their CRCs come from the `ogg` crate; this file only supplies what the Opus
//! mapping adds (the two header packets and the granule positions). Runs on a source thread.

use std::borrow::Cow;

use ogg::writing::{PacketWriteEndInfo, PacketWriter};

/// Samples (at 48 kHz) in each of the broadcaster's 20 ms packets.
pub const SAMPLES_PER_PACKET: u64 = 960;
/// Samples the decoder discards at the start: libopus's encoder delay at 48 kHz (what
/// `OPUS_GET_LOOKAHEAD` reports for the audio application). A listener's decoder starts cold
/// in the middle of the encoder's stream, so skipping its first few milliseconds also hides
/// the decoder's warm-up.
pub const PRE_SKIP_SAMPLES: u16 = 312;
/// Audio packets per Ogg page: 100 ms. Icecast forwards whole pages, so smaller pages mean
/// less delay; at 128 kbit/s this size keeps the page overhead near 1%.
const PACKETS_PER_PAGE: u32 = 5;

/// What the stream's `OpusTags` say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTags {
    /// `TITLE`: what is playing when the stream starts.
    pub title: String,
    /// `DESCRIPTION`: key, scale and tempo.
    pub description: String,
}

/// One logical Ogg/Opus stream being written into a byte buffer.
pub struct OggOpusStream {
    /// Pages are written into its `Vec` and taken out by [`Self::take_pages`].
    writer: PacketWriter<'static, Vec<u8>>,
    /// The stream's serial number; a new stream (a new connection) takes a new one.
    serial: u32,
    /// Granule position after the last packet: samples so far.
    granule: u64,
    /// Packets in the page being filled.
    packets_in_page: u32,
}

impl OggOpusStream {
    /// A stream with serial `serial`, its two header pages already written.
    pub fn start(serial: u32, tags: &StreamTags) -> Self {
        let mut stream = Self {
            writer: PacketWriter::new(Vec::with_capacity(16 * 1024)),
            serial,
            granule: 0,
            packets_in_page: 0,
        };
        // Each header packet ends its page, as RFC 7845 requires.
        stream.write(opus_head(), PacketWriteEndInfo::EndPage);
        stream.write(opus_tags(tags), PacketWriteEndInfo::EndPage);
        stream
    }

    /// Adds one 20 ms Opus packet; returns whether it completed a page.
    pub fn push(&mut self, opus_packet: &[u8]) -> bool {
        self.granule += SAMPLES_PER_PACKET;
        self.packets_in_page += 1;
        let end_page = self.packets_in_page >= PACKETS_PER_PAGE;
        let end = if end_page {
            self.packets_in_page = 0;
            PacketWriteEndInfo::EndPage
        } else {
            PacketWriteEndInfo::NormalPacket
        };
        self.write(opus_packet.to_vec(), end);
        end_page
    }

    /// The pages completed since the last call.
    pub fn take_pages(&mut self) -> Vec<u8> {
        std::mem::take(self.writer.inner_mut())
    }

    fn write(&mut self, packet: Vec<u8>, end: PacketWriteEndInfo) {
        // Writing into a Vec cannot fail.
        let _ = self
            .writer
            .write_packet(Cow::Owned(packet), self.serial, end, self.granule);
    }
}

/// The identification header: version 1, stereo, [`PRE_SKIP_SAMPLES`], 48 kHz input, no gain,
/// channel mapping family 0.
fn opus_head() -> Vec<u8> {
    let mut head = Vec::with_capacity(19);
    head.extend_from_slice(b"OpusHead");
    head.push(1);
    head.push(2);
    head.extend_from_slice(&PRE_SKIP_SAMPLES.to_le_bytes());
    head.extend_from_slice(&48_000u32.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes());
    head.push(0);
    head
}

/// The comment header: the encoder as vendor, then the stream's tags as Vorbis comments.
fn opus_tags(tags: &StreamTags) -> Vec<u8> {
    let vendor = format!(
        "Auralis {} ({})",
        env!("CARGO_PKG_VERSION"),
        opus::version()
    );
    let comments = [
        format!("TITLE={}", tags.title),
        "ARTIST=Auralis".to_owned(),
        "GENRE=Ambient".to_owned(),
        format!("DESCRIPTION={}", tags.description),
    ];
    let mut packet = Vec::with_capacity(256);
    packet.extend_from_slice(b"OpusTags");
    let field = |packet: &mut Vec<u8>, text: &str| {
        packet.extend_from_slice(&(text.len() as u32).to_le_bytes());
        packet.extend_from_slice(text.as_bytes());
    };
    field(&mut packet, &vendor);
    packet.extend_from_slice(&(comments.len() as u32).to_le_bytes());
    for comment in &comments {
        field(&mut packet, comment);
    }
    packet
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use ogg::reading::PacketReader;

    use super::*;

    fn tags() -> StreamTags {
        StreamTags {
            title: "Dm9 in D Dorian".into(),
            description: "D Dorian, 70 BPM".into(),
        }
    }

    #[test]
    fn the_stream_reads_back_as_opus_head_tags_and_audio_with_granules() {
        let mut stream = OggOpusStream::start(0x1234_5678, &tags());
        let mut pages = stream.take_pages();
        let mut completed = 0;
        for i in 0..12u8 {
            completed += usize::from(stream.push(&[0xfc, i, i, i]));
            pages.extend(stream.take_pages());
        }
        assert_eq!(completed, 2, "a page per 5 packets");

        let mut reader = PacketReader::new(Cursor::new(pages));
        let head = reader.read_packet_expected().unwrap();
        assert!(head.first_in_stream() && head.last_in_page());
        assert_eq!(&head.data[..8], b"OpusHead");
        assert_eq!((head.data[9], head.data.len()), (2, 19));
        assert_eq!(
            u16::from_le_bytes([head.data[10], head.data[11]]),
            PRE_SKIP_SAMPLES
        );
        let comment = reader.read_packet_expected().unwrap();
        assert!(comment.last_in_page());
        assert_eq!(&comment.data[..8], b"OpusTags");
        let text = String::from_utf8_lossy(&comment.data);
        assert!(text.contains("TITLE=Dm9 in D Dorian"), "{text}");
        assert!(text.contains("GENRE=Ambient"), "{text}");
        for i in 0..10u8 {
            let packet = reader.read_packet_expected().unwrap();
            assert_eq!(packet.stream_serial(), 0x1234_5678);
            assert_eq!(packet.data, [0xfc, i, i, i]);
            if packet.last_in_page() {
                assert_eq!(packet.absgp_page(), u64::from(i + 1) * SAMPLES_PER_PACKET);
            }
        }
        assert!(
            reader.read_packet().unwrap().is_none(),
            "the 2 packets of an open page wait"
        );
    }

    #[test]
    fn libopus_reports_the_pre_skip_we_declare() {
        let mut encoder =
            opus::Encoder::new(48_000, opus::Channels::Stereo, opus::Application::Audio).unwrap();
        assert_eq!(
            encoder.get_lookahead().unwrap(),
            i32::from(PRE_SKIP_SAMPLES)
        );
    }
}
